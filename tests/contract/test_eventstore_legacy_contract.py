"""Every event store upcasts the metadata of an older log's events: one recorded without its app
and team is read with those it concerned at its point of the log, in whatever order the log is
read; the log itself stays as stored and verifies."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta, EventStore, LoggedEvent
from rivetr.adapters.eventstore.chain import verify_chain
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppSettingsChanged,
    BuildStarted,
    DeploymentRequested,
    Event,
    TeamCreated,
)

pytestmark = pytest.mark.anyio

OLD = EventMeta(actor="admin")  # as an older Rivetr recorded: no team, no resource


async def older_log(store: EventStore) -> None:
    """`web` made in acme, deployed, deleted, and the name taken by another app in globex."""
    history: list[tuple[str, Event]] = [
        ("team-acme", TeamCreated(team="acme", name="Acme", owner="ann@example.com")),  # 1
        ("app-web", AppCreated(app_id="web.2", name="web", team="acme")),  # 2
        ("deployment-d1", DeploymentRequested(deployment_id="d1", app="web", branch="main")),
        ("deployment-d1", BuildStarted(deployment_id="d1", builder="dockerfile")),  # 4
        ("app-web", AppDeleted(name="web")),  # 5
        ("app-web", AppCreated(app_id="web.6", name="web", team="globex")),  # 6
        ("app-web", AppSettingsChanged(name="web", port=9000)),  # 7
        ("deployment-d1", BuildStarted(deployment_id="d1", builder="static")),  # 8
    ]
    for stream, event in history:
        await store.append(stream, ANY_VERSION, [event], OLD)


EXPECTED = [
    (1, None, None),  # a team's event concerns no app
    (2, "web.2", "acme"),
    (3, "web.2", "acme"),  # the name's holder then
    (4, "web.2", "acme"),
    (5, "web.2", "acme"),  # the deletion is the deleted app's
    (6, "web.6", "globex"),
    (7, "web.6", "globex"),
    (8, "web.2", "acme"),  # a deployment stays its app's, whoever holds the name now
]


def concerns(events: Sequence[LoggedEvent]) -> list[tuple[int, str | None, str | None]]:
    return [(e.position, e.resource, e.team) for e in events]


async def test_an_older_event_is_read_with_the_app_and_team_it_concerned_then(
    store: EventStore,
) -> None:
    await older_log(store)
    assert concerns(await store.read_logged()) == EXPECTED


async def test_the_answer_does_not_depend_on_the_order_of_reading(store: EventStore) -> None:
    await older_log(store)
    later = await store.read_logged(after=5, limit=3)  # first, before anything was learnt
    earlier = await store.read_logged(after=0, limit=5)
    assert concerns([*earlier, *later]) == EXPECTED


async def test_readers_at_once_learn_each_fact_once(store: EventStore) -> None:
    """The runner, the event hub and an export may read at the same moment, from different
    places: what one learns while another waits on its read must not be learnt twice."""
    await older_log(store)
    results: dict[int, Sequence[LoggedEvent]] = {}

    async def read(after: int, limit: int) -> None:
        results[after] = await store.read_logged(after=after, limit=limit)

    async with anyio.create_task_group() as group:
        group.start_soon(read, 5, 3)
        group.start_soon(read, 0, 5)
        group.start_soon(read, 2, 6)
    assert concerns([*results[0], *results[5]]) == EXPECTED
    assert concerns(results[2]) == EXPECTED[2:]
    assert concerns(await store.read_logged()) == EXPECTED


async def test_the_log_is_read_as_stored_where_the_chain_is_checked(store: EventStore) -> None:
    await older_log(store)
    stored = await store.read_all()
    assert {(e.resource, e.team) for e in stored} == {(None, None)}
    assert verify_chain(stored) == len(stored)


async def test_what_an_event_recorded_is_what_it_is_read_with(store: EventStore) -> None:
    meta = EventMeta(actor="admin", team="acme", resource="a1")
    await store.append("app-a1", ANY_VERSION, [AppCreated(app_id="a1", name="web")], meta)
    (logged,) = await store.read_logged()
    assert (logged.resource, logged.team) == ("a1", "acme")
