"""What a projection is: a name, a version, its tables, the events it handles, and `apply`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Protocol

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import EVENT_TYPES, Event


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

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        """Write what `event` means to the projection's tables."""
        ...


class BatchProjection(Projection, Protocol):
    """A projection that can also take many events at once. When a projection has
    `apply_batch`, the runner hands it each batch's events (only those it handles, after its
    checkpoint, in order) instead of calling `apply` once per event."""

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        """Write what `events` mean: the tables must end up exactly as `apply` on each event,
        in turn, would leave them (e.g. the same rows, written with one executemany)."""
        ...


def tags(*kinds: type[Event]) -> frozenset[str]:
    """The types of the event classes `kinds`: a projection's `handles` are built from its
    classes, so that a misspelt one fails at import instead of being silently never applied.
    A class the log cannot hold (the base `Event`, one left out of `AnyEvent`) is refused."""
    found = {kind.__struct_config__.tag: kind for kind in kinds}
    strays = [
        kind.__name__ for name, kind in found.items() if EVENT_TYPES.get(str(name)) is not kind
    ]
    if strays:
        raise TypeError(f"not event types of the log: {', '.join(strays)}")
    return frozenset(str(name) for name in found)


def tag(kind: type[Event]) -> str:
    """The type of the event class `kind`, to compare with `LoggedEvent.type`."""
    (found,) = tags(kind)
    return found


def reader_indexes(projection: Projection) -> tuple[str, ...]:
    """The indexes a projection declares, as `reader_indexes`, to serve only the readers of its
    tables, never its own `apply`. A rebuild drops them, replays the log, then calls `create`
    (which must re-create them if missing) so they are built once, sorted, instead of being
    updated row by row; an interrupted rebuild gets them back from `create` at the next open."""
    return tuple(getattr(projection, "reader_indexes", ()))


def drop_legacy_tables(conn: sqlite3.Connection, prefix: str) -> None:
    """Drop the two tables a projection kept, before the store filled in an older event's app
    (adapters/eventstore/legacy.py), to find it itself; a read model built then still has them."""
    for table in ("legacy_app_streams", "legacy_deployments"):
        conn.execute(f"DROP TABLE IF EXISTS {prefix}_{table}")


def update_row(
    conn: sqlite3.Connection, table: str, key: str, value: str, changes: dict[str, object]
) -> None:
    """Set `changes` (column -> value) on the row of `table` whose `key` is `value`."""
    if not changes:
        return
    assignments = ", ".join(f"{column} = ?" for column in changes)
    conn.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", (*changes.values(), value))
