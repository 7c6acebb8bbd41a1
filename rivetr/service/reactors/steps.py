"""Recording a deployment's steps: each one checked by the state machine before it is appended,
so a step that arrives after a cancel or a supersede is refused rather than recorded."""

from __future__ import annotations

from functools import partial

from rivetr.adapters.eventstore.base import ConcurrencyError, EventMeta, EventStore, RecordedEvent
from rivetr.domain import deployment
from rivetr.domain.deployment import DeploymentState
from rivetr.domain.events import Event
from rivetr.service.commands.handler import _RETRIES as RETRIES

ACTOR = "system:deployer"


class StepRecorder:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def state(self, deployment_id: str) -> DeploymentState:
        history = await self.store.read_stream(deployment.stream_id(deployment_id))
        return deployment.fold(deployment_id, [e.event for e in history])

    async def record(self, deployment_id: str, event: Event) -> list[RecordedEvent]:
        """Append `event` to the deployment's stream if the state machine allows it now.

        Raises:
            IllegalTransition: the deployment is not in a state that accepts this step.
            ConcurrencyError: other writers moved the stream on at each of RETRIES attempts
                (as a command gives up, rather than spin).
        """
        stream = deployment.stream_id(deployment_id)
        fold = partial(deployment.fold, deployment_id)
        for attempt in range(RETRIES):
            history = await self.store.read_stream(stream)
            accepted = deployment.advance(fold([e.event for e in history]), event)
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
            try:
                return await self.store.append(stream, expected, accepted, meta)
            except ConcurrencyError:
                if attempt == RETRIES - 1:
                    raise
                continue  # someone (a cancel) wrote in between: decide again
        raise AssertionError("unreachable")
