"""A deployment's steps as a timeline: how long each took, and which ones went wrong. A run of
health probes that all got the same answer is one row after its first (the events stay one per
probe: only the telling is shorter), a port the image does not listen on is noted on the
build's row, and the steps of a release on servers say where its copies run (`copies.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec

from rivetr.domain.events import (
    DeploymentCancelled,
    DeploymentFailed,
    DeploymentRequested,
    HealthProbed,
    ImageBuilt,
    ReleaseRestarted,
    ReleaseRestartFailed,
    RollbackStarted,
    RolledBack,
    TrafficSwitched,
    VariablesResolved,
)
from rivetr.domain.health import port_mismatch, probe_line, repeats_line, runs
from rivetr.domain.promotion import promoted_line
from rivetr.domain.replica_events import TrafficBalanced
from rivetr.projections.base import tag, tags
from rivetr.projections.copies import copy_line
from rivetr.projections.deployments import StepView

Mark = Literal["ok", "bad", "rollback", "live"]

_BAD = tags(DeploymentFailed, ReleaseRestartFailed, DeploymentCancelled)
_ROLLBACK = tags(RollbackStarted, RolledBack)
_LIVE = tags(TrafficSwitched, TrafficBalanced, ReleaseRestarted)
_PROBED = tag(HealthProbed)
_BUILT = tag(ImageBuilt)
_RESOLVED = tag(VariablesResolved)
_REQUESTED = tag(DeploymentRequested)
_COLLAPSED_FROM = 3  # identical probes in a row: fewer are shown one by one


class TimelineStep(msgspec.Struct, frozen=True, kw_only=True):
    step: StepView  # the step; for a row of repeated probes, the first of the repeats
    took_s: float | None  # since the step before it; None for the first
    mark: Mark
    label: str  # the type without its "deployment." prefix
    # a probe in words: "probe 2: GET http://… → 404 Not Found"; a promotion's origin
    text: str | None = None
    count: int = 1  # how many steps the row stands for
    span_s: float | None = None  # from the first to the last of them, when more than one
    note: str | None = None  # a warning about the step ("the image listens on 8080; …")


def timeline(steps: Sequence[StepView]) -> list[TimelineStep]:
    rows: list[TimelineStep] = []
    previous: datetime | None = None
    for run in runs(steps, _sameness):
        group = steps[run.start : run.start + run.length]
        shown = [[step] for step in group]
        if group[0].type == _PROBED and len(group) >= _COLLAPSED_FROM:
            shown = [[group[0]], list(group[1:])]
        for part in shown:
            first, last = part[0], part[-1]
            at = datetime.fromisoformat(first.recorded_at)
            took = (at - previous).total_seconds() if previous is not None else None
            previous = datetime.fromisoformat(last.recorded_at)
            rows.append(
                TimelineStep(
                    step=first,
                    took_s=took,
                    mark=_mark(first),
                    label=first.type.removeprefix("deployment."),
                    text=_text(part) or _variables_text(first),
                    count=len(part),
                    span_s=(previous - at).total_seconds() if len(part) > 1 else None,
                    note=_note(first),
                )
            )
    return rows


def _sameness(step: StepView) -> object:
    """Probes with the same answer are alike; any other step is like nothing else."""
    if step.type != _PROBED:
        return step.position
    d = step.detail
    return (d.get("ok"), d.get("status"), d.get("error"), d.get("url"))


def _text(part: list[StepView]) -> str | None:
    first, last = part[0].detail, part[-1].detail
    if part[0].type == _REQUESTED and first.get("promoted_from"):
        return promoted_line(
            first.get("promoted_from_app"), first["promoted_from"], first.get("image")
        )
    if part[0].type != _PROBED:
        return copy_line(part[0])
    status, error = first.get("status"), first.get("error")
    if len(part) > 1:
        return repeats_line(first.get("attempt", 0), last.get("attempt", 0), status, error)
    return probe_line(first.get("attempt", 0), first.get("url"), status, error)


def _variables_text(step: StepView) -> str | None:
    """Which shared variables each of the app's variables took: names and sources only."""
    if step.type != _RESOLVED:
        return None
    used = [u for u in step.detail.get("used", []) if isinstance(u, dict)]
    return "; ".join(f"{u.get('name')} ← {u.get('source')}.{u.get('key')}" for u in used) or None


def _note(step: StepView) -> str | None:
    if step.type != _BUILT or not isinstance(step.detail.get("port"), int):
        return None
    exposed = step.detail.get("exposed_ports")
    return port_mismatch(exposed if isinstance(exposed, list) else None, step.detail["port"])


def _mark(step: StepView) -> Mark:
    if step.type in _BAD or (step.type == _PROBED and not step.detail.get("ok")):
        return "bad"
    if step.type in _ROLLBACK:
        return "rollback"
    if step.type in _LIVE:
        return "live"
    return "ok"
