"""`StepRecorder`: a step is appended only when the state machine allows it now, with the
request's team and app; a concurrent write makes it decide again, a bounded number of times."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rivetr.adapters.eventstore.base import (
    ConcurrencyError,
    EventMeta,
    RecordedEvent,
    StreamAppend,
)
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.eventstore.retry import ATTEMPTS
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.events import (
    DeploymentCancelled,
    DeploymentRequested,
    SourceFetched,
)
from rivetr.service.reactors.steps import ACTOR, StepRecorder

pytestmark = pytest.mark.anyio

STREAM = "deployment-d1"
FETCHED = SourceFetched(deployment_id="d1", commit_sha="abc", commit_message="m", duration_ms=1)
REQUESTED = DeploymentRequested(deployment_id="d1", app="web", app_id="a1", branch="main")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RacedStore(InMemoryEventStore):
    """A store that refuses the first `races` appends of a step (every one, when None) as if
    another writer had moved the deployment's stream on."""

    def __init__(self, races: int | None) -> None:
        super().__init__()
        self.races = races
        self.attempts = 0

    async def append_together(
        self, appends: Sequence[StreamAppend], meta: EventMeta
    ) -> list[RecordedEvent]:
        if appends[0].stream_id == STREAM and appends[0].expected_version != 0:
            self.attempts += 1
            if self.races is None or self.attempts <= self.races:
                raise ConcurrencyError(STREAM, appends[0].expected_version, 2)
        return await super().append_together(appends, meta)


async def requested(store: InMemoryEventStore) -> None:
    await store.append(STREAM, 0, [REQUESTED], EventMeta(actor="test", team="t1", resource="a1"))


async def test_a_step_the_state_machine_allows_is_recorded_with_the_requests_team_and_app() -> None:
    store = InMemoryEventStore()
    await requested(store)

    [recorded] = await StepRecorder(store).record("d1", FETCHED)

    assert recorded.event == FETCHED
    assert (recorded.actor, recorded.team, recorded.resource) == (ACTOR, "t1", "a1")
    assert recorded.correlation_id == "d1"


async def test_a_step_after_a_cancel_is_refused() -> None:
    store = InMemoryEventStore()
    await requested(store)
    await store.append(
        STREAM, 1, [DeploymentCancelled(deployment_id="d1", reason="r")], EventMeta(actor="test")
    )

    with pytest.raises(IllegalTransition):
        await StepRecorder(store).record("d1", FETCHED)
    assert len(await store.read_stream(STREAM)) == 2


async def test_a_step_that_lost_a_race_is_decided_again() -> None:
    store = RacedStore(races=2)
    await requested(store)

    await StepRecorder(store).record("d1", FETCHED)

    assert store.attempts == 3
    assert [e.event for e in await store.read_stream(STREAM)] == [REQUESTED, FETCHED]


async def test_a_step_that_always_loses_gives_up_with_the_concurrency_error() -> None:
    store = RacedStore(races=None)
    await requested(store)

    with pytest.raises(ConcurrencyError):
        await StepRecorder(store).record("d1", FETCHED)
    assert store.attempts == ATTEMPTS
