"""The metadata upcaster learns each fact of the log once, even when one reader learns a range
while another waits on its read of it (the runner and the event hub read at the same time)."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.lowlevel
import pytest

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta, LoggedEvent
from rivetr.adapters.eventstore.legacy import LEARNS_FROM, LegacyConcerns
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain.events import AppCreated, AppDeleted, AppSettingsChanged

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_range_learnt_while_another_reader_waited_is_not_learnt_again() -> None:
    store = InMemoryEventStore()
    old = EventMeta(actor="admin")  # an older Rivetr's: no team, no resource
    for event in (
        AppCreated(app_id="web.1", name="web", team="acme"),
        AppDeleted(name="web"),
        AppCreated(app_id="web.3", name="web", team="globex"),
        AppSettingsChanged(name="web", port=9000),
    ):
        await store.append("app-web", ANY_VERSION, [event], old)
    log = await store.read_all()
    release = anyio.Event()

    async def slow_learn(after: int, upto: int) -> Sequence[LoggedEvent]:
        await release.wait()  # the SQL read, still running when the other reader goes on
        return [e for e in log[after:upto] if e.type in LEARNS_FROM]

    concerns = LegacyConcerns(slow_learn)
    answers: list[list[LoggedEvent]] = []

    async def out_of_order() -> None:
        answers.append(await concerns.fill(log[2:], after=2))

    async with anyio.create_task_group() as group:
        group.start_soon(out_of_order)
        await anyio.lowlevel.checkpoint()  # it waits on its read of 1..4
        in_order = await concerns.fill(log, after=0)  # learns 1..4 as it reads them
        release.set()

    assert concerns._held_at == {"app-web": [1, 2, 3]}  # each change of hands once, in order
    assert [(e.resource, e.team) for e in answers[0]] == [
        (e.resource, e.team) for e in in_order[2:]
    ]
    assert [(e.resource, e.team) for e in in_order] == [
        ("web.1", "acme"),
        ("web.1", "acme"),
        ("web.3", "globex"),
        ("web.3", "globex"),
    ]
