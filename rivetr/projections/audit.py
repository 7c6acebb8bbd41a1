"""The audit view: who did what, when, to which stream and app, for every event in the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.codec import UnreadableEvent
from rivetr.projections.base import app_name_of


class AuditProjection:
    name = "audit"
    version = 3  # v2: team, source; v3: the app of deployment, certificate and webhook events
    handles: frozenset[str] | None = None
    # apply only inserts by position: these serve the readers (see base.reader_indexes)
    reader_indexes = ("audit_by_actor", "audit_by_app", "audit_by_time")

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
        # which app each deployment stream belongs to (from its deployment.requested)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS audit_streams (stream_id TEXT PRIMARY KEY, app TEXT)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_app ON audit (app, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_time ON audit (recorded_at)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS audit")
        conn.execute("DROP TABLE IF EXISTS audit_streams")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        streams: dict[str, str | None] = {}
        for event in events:
            if event.type == "deployment.requested":
                streams[event.stream_id] = _body_app(event)
        if streams:
            conn.executemany("INSERT OR IGNORE INTO audit_streams VALUES (?, ?)", streams.items())
        conn.executemany(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    event.position,
                    event.recorded_at,
                    event.actor,
                    event.type,
                    event.stream_id,
                    _app_of(conn, event, streams),
                    event.correlation_id,
                    event.team,
                    event.source,
                )
                for event in events
            ],
        )


def _app_of(
    conn: sqlite3.Connection, event: LoggedEvent, streams: dict[str, str | None]
) -> str | None:
    """The app an event concerns: its stream's, its deployment's, or the one its body names.
    Only events that may name one are decoded, so a rebuild stays fast."""
    app = app_name_of(event.stream_id)
    if app is not None:
        return app
    if event.stream_id.startswith("deployment-"):
        if event.stream_id not in streams:
            row = conn.execute(
                "SELECT app FROM audit_streams WHERE stream_id = ?", (event.stream_id,)
            ).fetchone()
            streams[event.stream_id] = row[0] if row else None
        return streams[event.stream_id]
    return _body_app(event) if b'"app":' in event.data else None


def _body_app(event: LoggedEvent) -> str | None:
    try:
        body = event.event
    except UnreadableEvent:
        # the audit lists every event the log holds; one it cannot read is listed with its
        # stream and metadata, only without the app its body would have named
        return None
    app = getattr(body, "app", None)
    return app if isinstance(app, str) else None
