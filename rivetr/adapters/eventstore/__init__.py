"""The append-only event log: its port, the SQLite store and an in-memory twin."""

from rivetr.adapters.eventstore.base import (
    ANY_VERSION,
    NO_STREAM,
    ConcurrencyError,
    EventMeta,
    EventStore,
    LoggedEvent,
    RecordedEvent,
    StreamAppend,
)

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "ConcurrencyError",
    "EventMeta",
    "EventStore",
    "LoggedEvent",
    "RecordedEvent",
    "StreamAppend",
]
