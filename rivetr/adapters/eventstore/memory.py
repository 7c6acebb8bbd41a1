"""InMemoryEventStore: the same log, same rules and same hash chain, held in a list.

For unit tests of what sits above the store; the contract suite keeps it honest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from rivetr.adapters.eventstore.base import (
    GENESIS_HASH,
    ConcurrencyError,
    EventMeta,
    LoggedEvent,
    RecordedEvent,
    StreamAppend,
    check_appends,
    first_together,
)
from rivetr.adapters.eventstore.chain import chain_encoded, chain_event
from rivetr.adapters.eventstore.faults import StandingFault
from rivetr.adapters.eventstore.following import HeadSignal, follow
from rivetr.adapters.eventstore.legacy import LEARNS_FROM, LegacyConcerns
from rivetr.domain.events import Event


class InMemoryEventStore:
    def __init__(self) -> None:
        self._events: list[RecordedEvent] = []
        self._versions: dict[str, int] = {}
        self._signal = HeadSignal(self._read_head, poll_interval=3600)
        self._concerns = LegacyConcerns(self._learn)
        self.fault: StandingFault | None = None  # memory never fills
        self.refusals = 0
        self.fault_seen = asyncio.Event()

    async def _read_head(self) -> int:
        return len(self._events)

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event],
        meta: EventMeta,
    ) -> list[RecordedEvent]:
        return await self.append_together([StreamAppend(stream_id, expected_version, events)], meta)

    async def append_together(
        self, appends: Sequence[StreamAppend], meta: EventMeta
    ) -> list[RecordedEvent]:
        check_appends(appends)
        for part in appends:
            version = self._versions.get(part.stream_id, 0)
            if part.expected_version is not None and part.expected_version != version:
                raise ConcurrencyError(part.stream_id, part.expected_version, version)
        recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
        prev_hash = self._events[-1].hash if self._events else GENESIS_HASH
        versions = dict(self._versions)
        recorded: list[RecordedEvent] = []
        for part in appends:
            part_meta = part.meta_for(meta)
            for event in part.events:
                version = versions[part.stream_id] = versions.get(part.stream_id, 0) + 1
                position = len(self._events) + len(recorded) + 1
                linked = chain_event(
                    prev_hash, position, part.stream_id, version, event, part_meta, recorded_at
                )
                recorded.append(linked)
                prev_hash = linked.hash
        self._events.extend(recorded)
        self._versions = versions
        self._signal.advance(len(self._events))
        return recorded

    async def append_encoded(
        self, stream_id: str, encoded: tuple[str, int, bytes], meta: EventMeta
    ) -> RecordedEvent:
        """Append a body as it is, unchecked, the way an earlier Rivetr may have written it:
        for tests of how readers cope with what the log holds from before a rule existed."""
        version = self._versions.get(stream_id, 0) + 1
        prev_hash = self._events[-1].hash if self._events else GENESIS_HASH
        recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
        position = len(self._events) + 1
        linked = chain_encoded(prev_hash, position, stream_id, version, encoded, meta, recorded_at)
        self._events.append(linked)
        self._versions[stream_id] = version
        self._signal.advance(position)
        return linked

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        return [e for e in self._events if e.stream_id == stream_id]

    async def first_append(self, correlation_id: str) -> list[RecordedEvent]:
        return first_together([e for e in self._events if e.correlation_id == correlation_id])

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return self._events[after : after + limit]

    async def read_logged(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        return await self._concerns.fill(await self.read_all(after, limit), after)

    async def _learn(self, after: int, upto: int) -> list[LoggedEvent]:
        return [e for e in self._events[after:upto] if e.type in LEARNS_FROM]

    async def head(self) -> int:
        return len(self._events)

    async def wait_for_new(self, after: int, timeout: float | None = None) -> int:
        return await self._signal.wait_beyond(after, timeout)

    def subscribe(self, after: int = 0) -> AsyncIterator[RecordedEvent]:
        return follow(self, after)

    async def close(self) -> None:
        return None
