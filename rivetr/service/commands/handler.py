"""One path for every command: authorise → read the streams → decide → append → read-your-write."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from rivetr.adapters.eventstore.base import (
    ConcurrencyError,
    EventMeta,
    EventStore,
    RecordedEvent,
    StreamAppend,
)
from rivetr.domain.access import Actor, Target, authorize_command
from rivetr.domain.commands import Command
from rivetr.domain.events import Event
from rivetr.projections.runner import ProjectionRunner

Fold = Callable[[Iterable[Event]], Any]
Decide = Callable[[Any, Any], list[Event]]
Resolve = Callable[[Command], Awaitable[Target]]
# A decision over several streams: given each stream's folded state (in the order read), the
# events to append to each stream (any of those read), all recorded together or none.
DecideTogether = Callable[[list[Any], Any], list[tuple[str, list[Event]]]]


async def no_target(command: Command) -> Target:
    return Target()


_RETRIES = 5


class CommandHandler:
    def __init__(
        self, store: EventStore, runner: ProjectionRunner | None, resolve: Resolve = no_target
    ) -> None:
        self.store = store
        self.runner = runner
        self.resolve = resolve  # which team (and owner) a command acts on, from the log

    async def execute(
        self,
        actor: Actor,
        command: Command,
        *,
        stream_id: str,
        fold: Fold,
        decide: Decide,
        correlation_id: str | None = None,
        resource: str | None = None,
    ) -> list[RecordedEvent]:
        """Run `command` against the stream and return the events it recorded (maybe none).

        A concurrent writer to the same stream makes the append fail; the command is then decided
        again against the newer state, since deciding is pure and cheap.
        """
        return await self.execute_together(
            actor,
            command,
            reads=[(stream_id, fold)],
            decide=lambda states, c: [(stream_id, decide(states[0], c))],
            correlation_id=correlation_id,
            resource=resource,
        )

    async def execute_together(
        self,
        actor: Actor,
        command: Command,
        *,
        reads: Sequence[tuple[str, Fold]],
        decide: DecideTogether,
        correlation_id: str | None = None,
        resource: str | None = None,
    ) -> list[RecordedEvent]:
        """`execute` for a decision that spans streams (an app and the claims it makes)."""
        target = await self.resolve(command)
        authorize_command(actor, command, target)
        meta = EventMeta(
            actor=actor.label,
            correlation_id=correlation_id or str(uuid.uuid4()),
            team=target.team,
            source=actor.source,
            resource=resource,
        )
        return await self.decide_together(command, reads=reads, decide=decide, meta=meta)

    async def decide_and_append(
        self, command: Any, *, stream_id: str, fold: Fold, decide: Decide, meta: EventMeta
    ) -> list[RecordedEvent]:
        """Read the stream, fold, decide, append at the version read, then wait for the read
        model; decided again when a concurrent writer moved the stream on. For commands whose
        authority is not an actor's permission (a sign-out by its cookie, an invitation by its
        link), this is the path without `authorize_command`: the caller has checked it."""
        return await self.decide_together(
            command,
            reads=[(stream_id, fold)],
            decide=lambda states, c: [(stream_id, decide(states[0], c))],
            meta=meta,
        )

    async def decide_together(
        self,
        command: Any,
        *,
        reads: Sequence[tuple[str, Fold]],
        decide: DecideTogether,
        meta: EventMeta,
    ) -> list[RecordedEvent]:
        for attempt in range(_RETRIES):
            versions: dict[str, int] = {}
            states = []
            for stream_id, fold in reads:
                history = await self.store.read_stream(stream_id)
                versions[stream_id] = history[-1].version if history else 0
                states.append(fold(recorded.event for recorded in history))
            appends = [
                StreamAppend(stream_id, versions[stream_id], events)
                for stream_id, events in decide(states, command)
                if events
            ]
            if not appends:
                return []
            try:
                recorded = await self.store.append_together(appends, meta)
            except ConcurrencyError:
                if attempt == _RETRIES - 1:
                    raise
                continue
            if self.runner is not None:
                await self.runner.wait_until(recorded[-1].position)
            return recorded
        raise AssertionError("unreachable")
