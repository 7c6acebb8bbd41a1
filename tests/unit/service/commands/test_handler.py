"""`CommandHandler` on the in-memory store: a command loses a race and is decided again, gives
up after a bounded number of attempts, is refused before anything is read when the actor may
not run it, and returns only once the read model has what it recorded."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import anyio
import msgspec
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
from rivetr.service import request_keys
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.errors import ReadModelBehind

pytestmark = pytest.mark.anyio
T = TypeVar("T")

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


class StalledRunner:
    """A read model that cannot write (its disk is full): it never reaches a new position."""

    stalled_by = "OperationalError: database or disk is full"

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def wait_until(self, position: int, timeout: float = 10.0) -> bool:
        self.asked.append(timeout)
        return False


async def test_a_change_the_read_model_cannot_show_is_answered_as_recorded_not_as_missing() -> None:
    store = InMemoryEventStore()
    stalled = StalledRunner()
    handler = CommandHandler(store, stalled)  # type: ignore[arg-type]

    with pytest.raises(ReadModelBehind) as raised:
        await handler.execute(SYSTEM, COMMAND, COUNTER, "")

    assert raised.value.position == await store.head() == 1
    assert "disk is full" in str(raised.value)
    assert "recorded at position 1" in str(raised.value)
    assert stalled.asked == [2.0]  # a stalled read model is not waited on for long


class SlowRunner(StalledRunner):
    """A read model that is only slow: behind after the first wait, caught up after more."""

    stalled_by = None  # type: ignore[assignment]

    async def wait_until(self, position: int, timeout: float = 10.0) -> bool:
        self.asked.append(timeout)
        return len(self.asked) > 1


async def test_a_slow_read_model_is_waited_on_longer_than_a_stalled_one() -> None:
    slow = SlowRunner()
    handler = CommandHandler(InMemoryEventStore(), slow)  # type: ignore[arg-type]

    recorded = await handler.execute(SYSTEM, COMMAND, COUNTER, "")

    assert recorded[0].position == 1
    assert slow.asked == [2.0, 28.0]


def in_request(key: str | None, work: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """Run `work` as a web request would: in a context of its own, carrying `key`."""

    async def request() -> T:
        if key is not None:
            request_keys.carry(key)
        return await work()

    return asyncio.ensure_future(contextvars.copy_context().run(request))


async def test_a_request_retried_with_its_key_finds_what_it_recorded_and_records_nothing() -> None:
    store = InMemoryEventStore()
    handler = CommandHandler(store, None)

    def once() -> Awaitable[list[RecordedEvent]]:
        return handler.execute(SYSTEM, COMMAND, COUNTER, "")

    first = await in_request("order-66", once)
    again = await in_request("order-66", once)

    assert again == first
    assert await store.head() == 1
    assert first[0].correlation_id.startswith(request_keys.PREFIX)
    # another key, or none, is another request
    assert (await in_request("order-67", once))[0].position == 2
    assert (await in_request(None, once))[0].position == 3


async def test_each_command_of_a_request_and_each_actor_has_its_own_retry() -> None:
    store = InMemoryEventStore()
    handler = CommandHandler(store, None)
    admin = msgspec.structs.replace(SYSTEM, kind="token", id="t2", name="ops")

    async def two_commands(actor: Actor) -> list[int]:
        one = await handler.execute(actor, COMMAND, COUNTER, "")
        two = await handler.execute(actor, COMMAND, COUNTER, "")
        return [one[0].position, two[0].position]

    assert await in_request("k", lambda: two_commands(SYSTEM)) == [1, 2]
    assert await in_request("k", lambda: two_commands(SYSTEM)) == [1, 2]
    # the same key from someone else is not their change
    assert await in_request("k", lambda: two_commands(admin)) == [3, 4]


@pytest.mark.parametrize("key", ["", "a b", "é", "x" * 201])
def test_a_key_that_cannot_be_one_is_refused(key: str) -> None:
    with pytest.raises(request_keys.InvalidRequestKey):
        contextvars.copy_context().run(request_keys.carry, key)
