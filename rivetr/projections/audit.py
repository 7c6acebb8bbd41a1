"""The audit view: who did what, when, to which stream and app, for every event in the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.projections.base import app_name_of


class AuditProjection:
    name = "audit"
    version = 2  # v2: team, source
    handles: frozenset[str] | None = None
    # apply only inserts by position: these serve the readers (see base.reader_indexes)
    reader_indexes = ("audit_by_actor", "audit_by_app")

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS audit (
                position INTEGER PRIMARY KEY,
                recorded_at TEXT NOT NULL,
                actor TEXT NOT NULL,
                type TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                app TEXT,
                correlation_id TEXT,
                team TEXT,
                source TEXT
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_app ON audit (app, position)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS audit")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        conn.executemany(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    event.position,
                    event.recorded_at,
                    event.actor,
                    event.type,
                    event.stream_id,
                    app_name_of(event.stream_id),
                    event.correlation_id,
                    event.team,
                    event.source,
                )
                for event in events
            ],
        )
