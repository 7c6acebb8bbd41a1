"""The event-store port: append with optimistic concurrency, read, and subscribe by position."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import msgspec

from rivetr.adapters.eventstore.faults import StandingFault
from rivetr.domain import codec
from rivetr.domain.events import AnyEvent, Event

# expected_version values with a meaning of their own
ANY_VERSION: int | None = None  # append whatever the stream's version
NO_STREAM = 0  # the stream must not exist yet

GENESIS_HASH = "0" * 64


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it: re-read, re-decide, retry."""

    def __init__(self, stream_id: str, expected: int | None, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, the append expected {expected}"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class EventMeta(msgspec.Struct, frozen=True, kw_only=True):
    """Who or what caused the events, and which request or deployment they belong to."""

    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None
    team: str | None = None  # the team the command was authorised in, if any
    source: str | None = None  # how the actor came in: "session", "token:<name>", "webhook"...
    resource: str | None = None  # the id of the resource (an app) the events concern, if any


class StreamAppend(msgspec.Struct, frozen=True):
    """One stream's part of an append: its events, at the version the caller decided on."""

    stream_id: str
    expected_version: int | None
    events: Sequence[Event]
    # the resource these events concern, when not the one the meta names (one append that
    # creates several apps records each app's events under its own id)
    resource: str | None = None

    def meta_for(self, meta: EventMeta) -> EventMeta:
        if self.resource is None or self.resource == meta.resource:
            return meta
        return msgspec.structs.replace(meta, resource=self.resource)


def check_appends(appends: Sequence[StreamAppend]) -> None:
    """What every store refuses before looking at versions: an append of nothing."""
    if not appends or not all(part.events for part in appends):
        raise ValueError("append needs at least one event for each stream")


class LoggedEvent(msgspec.Struct, frozen=True):
    """An event as projections see it: its place in the log, its metadata and its body.

    `data` is the stored JSON; `event` decodes (and upcasts) it on demand, so readers that need
    only the metadata never pay for decoding.
    """

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: bytes
    recorded_at: str  # ISO 8601, UTC
    actor: str
    correlation_id: str | None
    team: str | None
    source: str | None
    resource: str | None  # an app's id; None for events of no app (see read_logged)

    @property
    def event(self) -> AnyEvent:
        """The decoded body.

        Raises:
            UnreadableEvent: the stored body does not fit its type (see `codec.decode`).
        """
        try:
            return codec.decode(self.type, self.schema_version, self.data, self.position)
        except (msgspec.ValidationError, codec.UnknownEventType) as exc:
            raise codec.UnreadableEvent(
                f"event {self.position} ({self.type} on {self.stream_id}) cannot be read by"
                f" this Rivetr: {exc}"
            ) from exc


class RecordedEvent(LoggedEvent, frozen=True):
    """An event as stored, with the fields only exports and chain checks need as well: its id,
    its cause and its link in the hash chain."""

    event_id: str
    causation_id: str | None
    prev_hash: str
    hash: str


class EventStore(Protocol):
    """The log. Positions are global, gap-free and start at 1; versions count per stream."""

    # the disk fault that refused the latest appends, until an append commits again; None
    # while writing works
    fault: StandingFault | None
    refusals: int  # appends the disk refused since the store opened
    fault_seen: asyncio.Event  # set at each refusal by the disk: what a watcher waits on

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event],
        meta: EventMeta,
    ) -> list[RecordedEvent]:
        """Append events to one stream atomically.

        Args:
            stream_id: e.g. ``app-web``.
            expected_version: the stream version the caller decided against; ``NO_STREAM`` (0)
                for a new stream, ``ANY_VERSION`` (None) to skip the check.
            events: one or more events, in order.
            meta: actor, correlation and causation recorded on every event.

        Returns:
            The events as recorded, with their positions and hashes.

        Raises:
            ConcurrencyError: the stream's version is not ``expected_version``.
        """
        ...

    async def append_together(
        self, appends: Sequence[StreamAppend], meta: EventMeta
    ) -> list[RecordedEvent]:
        """Append to several streams in one transaction: all of them, or none.

        For a decision that spans aggregates (an app and the claims on its name and domains),
        so that neither half can be recorded without the other.

        Raises:
            ConcurrencyError: one of the streams is not at its expected version (the first
                found); nothing is appended.
        """
        ...

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]: ...

    async def first_append(self, correlation_id: str) -> list[RecordedEvent]:
        """The events of the first append made under `correlation_id` (those recorded with it
        in one transaction), or [] when none was: how a retried request learns it was done."""
        ...

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events with position > `after`, in order, at most `limit` of them."""
        ...

    async def read_logged(self, after: int = 0, limit: int = 1000) -> Sequence[LoggedEvent]:
        """As `read_all`, without the chain fields (a third cheaper to read, for projections,
        which replay the whole log on a rebuild), and with each event's app and team as it
        concerned them: recorded with it, or for an older event, filled in (`legacy.py`)."""
        ...

    async def head(self) -> int:
        """The position of the last event (0 for an empty log)."""
        ...

    def subscribe(self, after: int = 0) -> AsyncIterator[RecordedEvent]:
        """Every event after `after`, then each new one as it is committed, forever."""
        ...

    async def wait_for_new(self, after: int, timeout: float | None = None) -> int:
        """Wait until the head passes `after` (or the timeout ends); return the head."""
        ...

    async def close(self) -> None: ...


def first_together(correlated: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """Of events in log order, the leading ones recorded in one append: adjacent positions
    committed at the same instant."""
    together: list[RecordedEvent] = []
    for recorded in correlated:
        if together and (
            recorded.position != together[-1].position + 1
            or recorded.recorded_at != together[0].recorded_at
        ):
            break
        together.append(recorded)
    return together
