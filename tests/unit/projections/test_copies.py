"""An app's copies as its live release's steps tell them: a copy taken out stays out, with its
last reason, until a later step puts it back or it serves again; the copies grouped by server;
and every step of a release on servers in words, an older or odd body shown, never refused."""

from __future__ import annotations

from typing import Any

from rivetr.domain.replica_events import Member
from rivetr.projections.copies import address_of, by_server, copy_line, taken_out
from tests.unit.projections.test_timeline import step

A = Member(task_id="t1", node="vps-2", address="10.0.0.2", port=30001)
B = Member(task_id="t2", node="vps-3", address="10.0.0.3", port=30002)
C = Member(task_id="t3", node="vps-2", address="fd00::2", port=30003)


def body(member: Member) -> dict[str, Any]:
    return {
        "task_id": member.task_id,
        "node": member.node,
        "address": member.address,
        "port": member.port,
    }


def changed(position: int, members: list[Member], *, left=(), joined=()) -> Any:  # type: ignore[no-untyped-def]
    return step(
        position,
        "copies_changed",
        members=[body(m) for m in members],
        joined=[body(m) for m in joined],
        left=[{"member": body(m), "reason": why} for m, why in left],
    )


def test_a_copy_taken_out_stays_out_with_its_last_reason_until_it_is_put_back() -> None:
    steps = [
        step(1, "traffic_balanced", members=[body(A), body(B)]),
        changed(2, [A], left=[(B, "failed its check: refused")]),
        changed(3, [], left=[(A, "shutdown on vps-2: node is down"), (B, "still refused")]),
    ]

    out = taken_out(steps)

    assert [(o.member.task_id, o.reason) for o in out] == [
        ("t2", "still refused"),
        ("t1", "shutdown on vps-2: node is down"),
    ]
    assert out[0].since == steps[2].recorded_at
    assert [o.member for o in taken_out([*steps, changed(4, [A], joined=[A])])] == [B]
    assert taken_out([*steps, changed(4, [A, B])]) == []  # serving again: not out


def test_the_copies_are_grouped_by_server_each_by_its_address() -> None:
    out = taken_out([changed(1, [A, C], left=[(B, "refused")])])

    grouped = by_server([C, A], out)

    assert [(g.node, g.serving, [o.member for o in g.out]) for g in grouped] == [
        ("vps-2", [A, C], []),
        ("vps-3", [], [B]),
    ]
    assert address_of(C) == "[fd00::2]:30003"


def test_each_step_of_a_release_on_servers_is_told_and_any_other_is_left_alone() -> None:
    assert copy_line(step(1, "task_running", slot=2, member=body(B))) == (
        "copy 2 running on vps-3 10.0.0.3:30002"
    )
    assert copy_line(
        step(2, "traffic_balanced", members=[body(A)], balance="least_connections")
    ) == ("traffic balanced (least connections) over 1 copy: vps-2 10.0.0.2:30001")
    assert copy_line(changed(3, [A], left=[(B, "refused")], joined=[A])) == (
        "taken out: vps-3 10.0.0.3:30002 (refused); put in: vps-2 10.0.0.2:30001;"
        " 1 copy in the balance now"
    )
    odd = step(4, "task_running", slot=1, member={"node": "vps-2"})  # not a copy's shape
    assert copy_line(odd) == "copy 1 running"
    assert copy_line(step(5, "healthy", probes=1)) is None
