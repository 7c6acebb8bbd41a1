"""Recording a stack release's steps: each one checked by the release's state machine before it
is appended, with the stack's team and id as the request's metadata, so a step that arrives
after the release failed (or a start before every image is ready) is refused, not recorded."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventMeta, EventStore, RecordedEvent
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.domain import stack_releases
from rivetr.domain.aggregates import STACK_RELEASES
from rivetr.domain.events import Event
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.service.commands.handler import folded

ACTOR = "system:stacks"


class StackRecorder:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def state(self, release_id: str) -> StackReleaseState:
        return await folded(self.store, STACK_RELEASES.at(release_id))

    async def record(self, release_id: str, event: Event) -> list[RecordedEvent]:
        """Append `event` to the release's stream if its state machine takes it now.

        Raises:
            IllegalTransition: the release does not take this step now.
        """
        stream = STACK_RELEASES.at(release_id)

        async def attempt() -> list[RecordedEvent]:
            history = await self.store.read_stream(stream.stream_id)
            accepted = stack_releases.advance(stream.fold(e.event for e in history), event)
            first = history[0] if history else None
            meta = EventMeta(
                actor=ACTOR,
                correlation_id=release_id,
                team=first.team if first else None,
                source="system",
                resource=first.resource if first else None,
            )
            expected = history[-1].version if history else 0
            return await self.store.append(stream.stream_id, expected, accepted, meta)

        return await retry_on_conflict(attempt)
