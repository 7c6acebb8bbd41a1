"""Recording a deployment's steps: each one checked by the state machine before it is appended,
so a step that arrives after a cancel or a supersede is refused rather than recorded."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventMeta, EventStore, RecordedEvent
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.domain import deployment
from rivetr.domain.aggregates import DEPLOYMENTS
from rivetr.domain.deployment import DeploymentState
from rivetr.domain.events import Event
from rivetr.service.commands.handler import folded

ACTOR = "system:deployer"


class StepRecorder:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def state(self, deployment_id: str) -> DeploymentState:
        return await folded(self.store, DEPLOYMENTS.at(deployment_id))

    async def record(self, deployment_id: str, event: Event) -> list[RecordedEvent]:
        """Append `event` to the deployment's stream if the state machine allows it now.

        Raises:
            IllegalTransition: the deployment is not in a state that accepts this step.
            ConcurrencyError: other writers moved the stream on at each attempt (`retry.py`).
        """
        stream = DEPLOYMENTS.at(deployment_id)

        async def attempt() -> list[RecordedEvent]:
            history = await self.store.read_stream(stream.stream_id)
            accepted = deployment.advance(stream.fold(e.event for e in history), event)
            expected = history[-1].version if history else 0
            # the team and app the deployment was requested in (its first event's), so that
            # the steps are visible to that team's members like the request itself
            first = history[0] if history else None
            meta = EventMeta(
                actor=ACTOR,
                correlation_id=deployment_id,
                team=first.team if first else None,
                source="system",
                resource=first.resource if first else None,
            )
            return await self.store.append(stream.stream_id, expected, accepted, meta)

        # someone (a cancel) wrote in between: decided again, as a command is, never spinning
        return await retry_on_conflict(attempt)
