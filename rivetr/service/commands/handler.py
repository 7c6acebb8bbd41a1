"""One path for every command: authorise → read the streams → decide → append → read-your-write."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from rivetr.adapters.eventstore.base import EventMeta, EventStore, RecordedEvent, StreamAppend
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.domain.access import Actor, Target, authorize_command
from rivetr.domain.aggregates import Aggregate, Decide, Stream
from rivetr.domain.commands import Command
from rivetr.domain.events import Event
from rivetr.projections.runner import ProjectionRunner
from rivetr.service import request_keys
from rivetr.service.commands.stream_locks import StreamLocks
from rivetr.service.errors import ReadModelBehind
from rivetr.service.request_keys import next_correlation

S = TypeVar("S")
C = TypeVar("C")
Resolve = Callable[[Command], Awaitable[Target]]


class Part(NamedTuple):
    """One stream's events in a decision over several streams, with the resource they concern
    when that is not the command's (a clone creates several apps at once)."""

    stream_id: str
    events: list[Event]
    resource: str | None = None


# A decision over several streams: given each stream's folded state (in the order read), the
# events to append to each stream (any of those read), all recorded together or none. A stream
# may come back more than once (the claims of each app a clone makes, each with its app).
DecideTogether = Callable[[list[Any], Any], Sequence[tuple[str, list[Event]] | Part]]


async def no_target(command: Command) -> Target:
    return Target()


async def folded(store: EventStore, stream: Stream[S]) -> S:
    """The state `stream`'s history folds to now, read for a look (a decision that appends
    reads through `CommandHandler`, which keeps the version it read)."""
    history = await store.read_stream(stream.stream_id)
    return stream.fold([recorded.event for recorded in history])


class CommandHandler:
    def __init__(
        self, store: EventStore, runner: ProjectionRunner | None, resolve: Resolve = no_target
    ) -> None:
        self.store = store
        self.runner = runner
        self.resolve = resolve  # which team (and owner) a command acts on, from the log
        self.locks = StreamLocks()  # commands deciding on one stream take turns

    async def execute(
        self,
        actor: Actor,
        command: C,
        aggregate: Aggregate[S, C],
        key: str,
        *,
        decide: Decide[S, C] | None = None,
        correlation_id: str | None = None,
        resource: str | None = None,
    ) -> list[RecordedEvent]:
        """Run `command` against the aggregate's stream for `key`, decided by `decide` (else the
        aggregate's own decision), and return the events it recorded (maybe none)."""
        stream = aggregate.at(key)
        return await self.execute_together(
            actor,
            command,
            reads=[stream],
            decide=_alone(stream, _decision(aggregate, decide)),
            correlation_id=correlation_id,
            resource=resource,
        )

    async def execute_together(
        self,
        actor: Actor,
        command: Any,
        *,
        reads: Sequence[Stream[Any]],
        decide: DecideTogether,
        correlation_id: str | None = None,
        resource: str | None = None,
    ) -> list[RecordedEvent]:
        """`execute` for a decision that spans streams (an app and the claims it makes)."""
        target = await self.resolve(command)
        authorize_command(actor, command, target)
        meta = EventMeta(
            actor=actor.label,
            correlation_id=correlation_id or next_correlation(actor.label) or str(uuid.uuid4()),
            team=target.team,
            source=actor.source,
            resource=resource,
        )
        return await self.decide_together(command, reads=reads, decide=decide, meta=meta)

    async def decide_and_append(
        self,
        command: C,
        aggregate: Aggregate[S, C],
        key: str,
        *,
        meta: EventMeta,
        decide: Decide[S, C] | None = None,
    ) -> list[RecordedEvent]:
        """Read the stream, fold, decide, append at the version read, then wait for the read
        model. For commands whose authority is not an actor's permission (a sign-out by its
        cookie, an invitation by its link), this is the path without `authorize_command`: the
        caller has checked it."""
        stream = aggregate.at(key)
        return await self.decide_together(
            command, reads=[stream], decide=_alone(stream, _decision(aggregate, decide)), meta=meta
        )

    async def decide_together(
        self,
        command: Any,
        *,
        reads: Sequence[Stream[Any]],
        decide: DecideTogether,
        meta: EventMeta,
    ) -> list[RecordedEvent]:
        async def attempt() -> list[RecordedEvent]:
            if meta.correlation_id and meta.correlation_id.startswith(request_keys.PREFIX):
                done = await self.store.first_append(meta.correlation_id)
                if done:  # a retry of a request whose first try was recorded
                    return done
            versions: dict[str, int] = {}
            states = []
            for stream in reads:
                history = await self.store.read_stream(stream.stream_id)
                versions[stream.stream_id] = history[-1].version if history else 0
                states.append(stream.fold(recorded.event for recorded in history))
            appends = [
                StreamAppend(part.stream_id, versions[part.stream_id], part.events, part.resource)
                for part in (Part(*given) for given in decide(states, command))
                if part.events
            ]
            if not appends:
                return []
            return await self.store.append_together(appends, meta)

        async with self.locks.holding(stream.stream_id for stream in reads):
            recorded = await retry_on_conflict(attempt)
        if recorded and self.runner is not None:
            await read_your_write(self.runner, recorded[-1].position)
        return recorded


async def read_your_write(runner: ProjectionRunner, position: int) -> None:
    """Wait for the read model to hold `position`, or say that it does not: answering from a
    read model that missed the change would deny what was just recorded (a 404 for an app
    that exists)."""
    # A read model that cannot write now will not catch up within a request's patience; one
    # that is only slow (a busy machine) gets more before the change is answered as unshown.
    if await runner.wait_until(position, timeout=2.0):
        return
    if runner.stalled_by is None and await runner.wait_until(position, timeout=28.0):
        return
    raise ReadModelBehind(position, runner.stalled_by)


def _decision(aggregate: Aggregate[S, C], decide: Decide[S, C] | None) -> Decide[S, C]:
    chosen = decide or aggregate.decide
    if chosen is None:
        raise TypeError(f"a {aggregate.name} command must name its decision")
    return chosen


def _alone(stream: Stream[S], decide: Decide[S, C]) -> DecideTogether:
    return lambda states, command: [(stream.stream_id, decide(states[0], command))]
