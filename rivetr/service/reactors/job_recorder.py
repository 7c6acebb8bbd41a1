"""Recording a job run's events: each checked against the run's history by its state machine
(`job_runs.check`) before it is appended, with the team and the app or stack the run belongs
to, so that the run shows where its job does (the audit, the team's event stream)."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventMeta, EventStore, RecordedEvent
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.domain import job_runs
from rivetr.domain.aggregates import JOB_RUNS
from rivetr.domain.event_base import Event
from rivetr.domain.job_runs import RunState
from rivetr.service.commands.handler import folded

ACTOR = "system:jobs"


class RunRecorder:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def state(self, run_id: str) -> RunState:
        return await folded(self.store, JOB_RUNS.at(run_id))

    async def record(
        self, run_id: str, event: Event, *, team: str | None, owner_id: str
    ) -> list[RecordedEvent]:
        """Append `event` to the run's stream if its history allows it now.

        Raises:
            IllegalTransition: the run is not where this event may follow.
        """
        stream = JOB_RUNS.at(run_id)
        meta = EventMeta(
            actor=ACTOR, correlation_id=run_id, team=team, source="system", resource=owner_id
        )

        async def attempt() -> list[RecordedEvent]:
            history = await self.store.read_stream(stream.stream_id)
            job_runs.check(stream.fold(e.event for e in history), event)
            expected = history[-1].version if history else 0
            return await self.store.append(stream.stream_id, expected, [event], meta)

        return await retry_on_conflict(attempt)
