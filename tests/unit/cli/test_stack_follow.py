"""`rivetr stacks deploy --wait` on recorded histories: every step said in order, service by
service, and the exit status that of how the release ended; and the stack commands' flags read
as written, or refused naming the flag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.cli.stack_follow import followed
from rivetr.cli.stack_input import assignments, routes
from rivetr.cli.verbs import Usage
from rivetr.domain.stack_events import StackReleaseRequested, StackReleaseSuperseded
from tests.web.stack_steps import failed_health, went_live

pytestmark = pytest.mark.anyio

RELEASE = "aaaaaaaaaaaa"


async def history(steps: list[Any]) -> AsyncIterator[Any]:
    """The release's stream as the log records it, requested first."""
    store = InMemoryEventStore()
    requested = StackReleaseRequested(release_id=RELEASE, stack_id="bbbbbbbbbbbb", trigger="cli")
    stream = f"stack-release-{RELEASE}"
    await store.append(stream, None, [requested, *steps], EventMeta(actor="t"))
    for recorded in await store.read_stream(stream):
        yield recorded


async def said(steps: list[Any]) -> tuple[int, list[str]]:
    lines: list[str] = []
    status = await followed(history(steps), RELEASE, lines.append)
    # without the time a step starts with ("12:00:01 web: ready")
    return status, [line[9:] if line[:1].isdigit() else line for line in lines]


async def test_a_release_that_went_live_is_said_step_by_step_and_exits_0() -> None:
    status, lines = await said(went_live(RELEASE))
    assert status == 0
    assert lines == [
        "release: requested (cli)",
        "release: inline compose file taken",
        "release: compose file read; services in order: db | web",
        "db: image ready: 0123456789ab",
        f"db: container stack-db-{RELEASE} started (beside)",
        "db: ready",
        "web: image ready: 0123456789ab",
        f"web: container stack-web-{RELEASE} started (beside)",
        "web: ready",
        "release: every route switched to this release",
        f"release {RELEASE} is live",
    ]


async def test_a_failed_release_says_where_and_why_and_exits_1() -> None:
    status, lines = await said(failed_health(RELEASE))
    assert status == 1
    assert "  warning: `links` ignored" in lines
    assert lines[-2] == "web: failed at health: no answer on port 80 after 30 s"
    assert lines[-1].endswith(f"release {RELEASE} failed (web): no answer on port 80 after 30 s")


async def test_steps_after_the_end_are_not_waited_for_nor_said() -> None:
    steps = [*went_live(RELEASE), StackReleaseSuperseded(release_id=RELEASE, by="cccccccccccc")]
    status, lines = await said(steps)
    assert status == 0
    assert not any("superseded" in line for line in lines)


async def test_a_history_that_ends_before_the_release_does_exits_1() -> None:
    status, lines = await said(went_live(RELEASE)[:3])
    assert status == 1
    assert lines[-1] == "db: image ready: 0123456789ab"


def test_routes_are_read_as_service_port_and_domains() -> None:
    assert routes(["web 8080 a.example.com b.example.com", "api 3000"]) == [
        {"service": "web", "port": 8080, "domains": ["a.example.com", "b.example.com"]},
        {"service": "api", "port": 3000, "domains": []},
    ]
    for bad in ("web", "web eighty a.example.com", ""):
        with pytest.raises(Usage, match="SERVICE PORT"):
            routes([bad])


def test_assignments_take_a_bare_name_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", "from the shell")
    monkeypatch.delenv("MISSING", raising=False)
    got = assignments(["A=1", "B=x=y", "C=", "DB_PASSWORD"], "--env")
    assert got == {"A": "1", "B": "x=y", "C": "", "DB_PASSWORD": "from the shell"}
    with pytest.raises(Usage, match=r"--env MISSING: no '=VALUE', and \$MISSING is not set"):
        assignments(["MISSING"], "--env")
    with pytest.raises(Usage, match="NAME=VALUE"):
        assignments(["=1"], "--env")
