"""`CommandHandler` on the in-memory store: a command loses a race and is decided again, gives
up after a bounded number of attempts, is refused before anything is read when the actor may
not run it, and returns only once the read model has what it recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path

import anyio
import pytest

from rivetr.adapters.eventstore.base import (
    ConcurrencyError,
    EventMeta,
    RecordedEvent,
    StreamAppend,
)
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.eventstore.retry import ATTEMPTS
from rivetr.domain.access import SYSTEM, Actor
from rivetr.domain.aggregates import Aggregate
from rivetr.domain.commands import CancelDeployment
from rivetr.domain.errors import Forbidden
from rivetr.domain.events import EngineLost, Event
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner
from rivetr.service.commands.handler import CommandHandler

pytestmark = pytest.mark.anyio

STREAM = "engine"
COMMAND = CancelDeployment(deployment_id="d1", reason="test")
STRANGER = Actor(kind="token", id="t1", name="nobody", source="token:nobody")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RacedStore(InMemoryEventStore):
    """A store where another writer appends to the stream just before each of the first
    `races` appends (every one, when None)."""

    def __init__(self, races: int | None) -> None:
        super().__init__()
        self.races = races
        self.attempts = 0

    async def append_together(
        self, appends: Sequence[StreamAppend], meta: EventMeta
    ) -> list[RecordedEvent]:
        self.attempts += 1
        if self.races is None or self.attempts <= self.races:
            other = StreamAppend(STREAM, None, [EngineLost(reason="the other writer")])
            await super().append_together([other], meta)
        return await super().append_together(appends, meta)


def count(events: Iterable[Event]) -> int:
    return sum(1 for _ in events)


def decide(seen: int, command: CancelDeployment) -> list[Event]:
    return [EngineLost(reason=f"decided after {seen} events")]


# an aggregate of one stream whose state is how many events it holds
COUNTER: Aggregate[int, CancelDeployment] = Aggregate(
    "counter", lambda _: STREAM, lambda _, events: count(events), decide
)


async def test_a_command_that_lost_a_race_is_decided_again_on_the_newer_state() -> None:
    store = RacedStore(races=2)
    handler = CommandHandler(store, None)

    recorded = await handler.execute(SYSTEM, COMMAND, COUNTER, "")

    assert store.attempts == 3
    assert [r.event for r in recorded] == [EngineLost(reason="decided after 2 events")]


async def test_a_command_that_always_loses_gives_up_with_the_concurrency_error() -> None:
    store = RacedStore(races=None)
    handler = CommandHandler(store, None)

    with pytest.raises(ConcurrencyError):
        await handler.execute(SYSTEM, COMMAND, COUNTER, "")
    assert store.attempts == ATTEMPTS


async def test_an_actor_without_the_permission_is_refused_before_anything_is_recorded() -> None:
    store = RacedStore(races=0)
    handler = CommandHandler(store, None)

    with pytest.raises(Forbidden):
        await handler.execute(STRANGER, COMMAND, COUNTER, "")
    assert store.attempts == 0
    assert await store.head() == 0


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[ProjectionRunner]:
    store = InMemoryEventStore()
    runner = ProjectionRunner(store, tmp_path / "read.db", all_projections())
    await runner.open()
    async with anyio.create_task_group() as group:
        group.start_soon(runner.run)
        yield runner
        group.cancel_scope.cancel()
    await runner.close()


async def test_a_command_returns_once_the_read_model_has_what_it_recorded(
    runner: ProjectionRunner,
) -> None:
    handler = CommandHandler(runner.store, runner)

    recorded = await handler.execute(SYSTEM, COMMAND, COUNTER, "")

    assert runner.position >= recorded[-1].position
