"""What a projection is: a name, a version, its tables, the events it handles, and `apply`."""

from __future__ import annotations

import sqlite3
from typing import Protocol

from rivetr.adapters.eventstore.base import RecordedEvent


class Projection(Protocol):
    """One view of the log. The runner owns checkpoints and transactions; `apply` only writes the
    projection's own tables for one event, and must give the same result however often the view
    is rebuilt. Bump `version` when the tables change: the runner then rebuilds the view."""

    name: str
    version: int
    handles: frozenset[str] | None  # event types; None means every event

    def create(self, conn: sqlite3.Connection) -> None:
        """Create the projection's tables if they do not exist."""
        ...

    def drop(self, conn: sqlite3.Connection) -> None:
        """Drop the projection's tables."""
        ...

    def apply(self, conn: sqlite3.Connection, event: RecordedEvent) -> None:
        """Write what `event` means to the projection's tables."""
        ...


def app_name_of(stream_id: str) -> str | None:
    """The application a stream belongs to, for streams named app-<name>."""
    return stream_id[4:] if stream_id.startswith("app-") else None
