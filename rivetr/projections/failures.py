"""Events a projection could not apply: kept in read.db beside the checkpoints, one row per
projection and stream.

An event that a view cannot take (a number SQLite cannot hold, a shape it does not expect) must
not stop the view for every other stream, and must not vanish either. The runner records it
here and sets its stream aside in that view: the stream's later events are counted as skipped
(applying them after a missing one could leave a row that never existed), and everything else
goes on. A rebuild starts the view's record afresh, so a fixed projection gets its streams back.
"""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent


class EventFailure(msgspec.Struct, frozen=True, kw_only=True):
    """The first event of `stream_id` that `projection` could not apply, and what followed."""

    projection: str
    stream_id: str
    position: int
    type: str
    error: str
    skipped: int  # later events of the stream the view has not applied since
    last_position: int  # the last of them (or `position` when none)


_COLUMNS = "projection, stream_id, position, type, error, skipped, last_position"


def create(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS projection_failures ("
        " projection TEXT NOT NULL, stream_id TEXT NOT NULL, position INTEGER NOT NULL,"
        " type TEXT NOT NULL, error TEXT NOT NULL, skipped INTEGER NOT NULL,"
        " last_position INTEGER NOT NULL, PRIMARY KEY (projection, stream_id))"
    )


def forget(conn: sqlite3.Connection, projection: str) -> None:
    """Start the projection's record afresh (it is being rebuilt from zero)."""
    conn.execute("DELETE FROM projection_failures WHERE projection = ?", (projection,))


def blocked_streams(conn: sqlite3.Connection, projection: str) -> set[str]:
    rows = conn.execute(
        "SELECT stream_id FROM projection_failures WHERE projection = ?", (projection,)
    )
    return {stream for (stream,) in rows}


def record(conn: sqlite3.Connection, projection: str, event: LoggedEvent, error: str) -> None:
    conn.execute(
        f"INSERT INTO projection_failures ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, ?)",
        (projection, event.stream_id, event.position, event.type, error, event.position),
    )


def skip(conn: sqlite3.Connection, projection: str, events: list[LoggedEvent]) -> None:
    """Count events of set-aside streams as skipped by the projection."""
    conn.executemany(
        "UPDATE projection_failures SET skipped = skipped + 1, last_position = ?"
        " WHERE projection = ? AND stream_id = ?",
        [(event.position, projection, event.stream_id) for event in events],
    )


def listed(conn: sqlite3.Connection, projections: list[str] | None = None) -> list[EventFailure]:
    """Every recorded failure (of the named projections), in the order they happened."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM projection_failures ORDER BY position").fetchall()
    failures = [EventFailure(**dict(zip(_COLUMNS.split(", "), row, strict=True))) for row in rows]
    return [f for f in failures if projections is None or f.projection in projections]


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
