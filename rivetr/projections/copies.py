"""An app's copies on servers as its release's steps tell them: each step a release on
servers adds (`replica_events.py`) in words for the timeline, the copies of the live release
the copy watch took out of the balance and has not put back (and why), and the copies grouped
by the server they run on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from rivetr.domain.replica_events import (
    CopiesChanged,
    ImagePushed,
    Member,
    ServiceStarted,
    TaskRunning,
    TrafficBalanced,
)
from rivetr.projections.base import tag
from rivetr.projections.deployments import StepView

_PUSHED = tag(ImagePushed)
_SERVICE = tag(ServiceStarted)
_TASK = tag(TaskRunning)
_BALANCED = tag(TrafficBalanced)
_CHANGED = tag(CopiesChanged)


class CopyOut(msgspec.Struct, frozen=True, kw_only=True):
    """A copy of the live release out of the balance: where it runs, why it was taken out
    and when."""

    member: Member
    reason: str
    since: str


class ServerCopies(msgspec.Struct, frozen=True, kw_only=True):
    """The copies of a release on one server: those traffic goes to, and those taken out."""

    node: str
    serving: list[Member]
    out: list[CopyOut]


def copy_line(step: StepView) -> str | None:
    """A step of a release on servers in words; None for any other step."""
    d = step.detail
    if step.type == _PUSHED:
        return f"pushed for every server to pull as {d.get('image')}"
    if step.type == _SERVICE:
        return f"service {d.get('service_name')}: {d.get('replicas')} copies of {d.get('image')}"
    if step.type == _TASK:
        member = _member(d.get("member"))
        where = f" on {_where(member)}" if member else ""
        return f"copy {d.get('slot')} running{where}"
    if step.type == _BALANCED:
        members = _members(d.get("members"))
        how = str(d.get("balance") or "round_robin").replace("_", " ")
        return f"traffic balanced ({how}) over {_copies(members)}: {_list(members)}"
    if step.type == _CHANGED:
        return _changed_line(d)
    return None


def _changed_line(d: Mapping[str, Any]) -> str:
    left = [(_member(o.get("member")), o.get("reason")) for o in _dicts(d.get("left"))]
    parts = [f"taken out: {_where(m)} ({why})" for m, why in left if m]
    joined = _members(d.get("joined"))
    if joined:
        parts.append(f"put in: {_list(joined)}")
    parts.append(f"{_copies(_members(d.get('members')))} in the balance now")
    return "; ".join(parts)


def taken_out(steps: Sequence[StepView]) -> list[CopyOut]:
    """The copies the release's `steps` (oldest first) took out of the balance and did not
    put back since, each with the reason and the time of its last taking out."""
    out: dict[str, CopyOut] = {}
    for step in steps:
        if step.type != _CHANGED:
            continue
        for member in _members(step.detail.get("joined")):
            out.pop(member.task_id, None)
        for left in _dicts(step.detail.get("left")):
            copy = _member(left.get("member"))
            if copy is not None:
                reason = str(left.get("reason") or "")
                out[copy.task_id] = CopyOut(member=copy, reason=reason, since=step.recorded_at)
        serving = {m.task_id for m in _members(step.detail.get("members"))}
        out = {task: copy for task, copy in out.items() if task not in serving}
    return list(out.values())


def by_server(serving: Sequence[Member], out: Sequence[CopyOut]) -> list[ServerCopies]:
    """The copies by server name, each server's by address and port."""
    nodes = sorted({m.node for m in serving} | {o.member.node for o in out})
    return [
        ServerCopies(
            node=node,
            serving=sorted((m for m in serving if m.node == node), key=_place),
            out=sorted((o for o in out if o.member.node == node), key=lambda o: _place(o.member)),
        )
        for node in nodes
    ]


def address_of(member: Member) -> str:
    """Where a copy answers: `10.0.0.2:30001`, an IPv6 address in brackets."""
    host = f"[{member.address}]" if ":" in member.address else member.address
    return f"{host}:{member.port}"


def _where(member: Member) -> str:
    return f"{member.node} {address_of(member)}"


def _list(members: Sequence[Member]) -> str:
    return ", ".join(_where(m) for m in members) or "none"


def _copies(members: Sequence[Member]) -> str:
    return f"{len(members)} {'copy' if len(members) == 1 else 'copies'}"


def _place(member: Member) -> tuple[str, int]:
    return member.address, member.port


def _dicts(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _member(value: object) -> Member | None:
    """A copy as the step's body holds it; None when it is not one (a step can only be
    shown, never refused)."""
    try:
        return msgspec.convert(value, Member)
    except msgspec.ValidationError:
        return None


def _members(value: object) -> list[Member]:
    found = (_member(v) for v in value) if isinstance(value, list) else iter(())
    return [m for m in found if m is not None]
