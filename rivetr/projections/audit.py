"""The audit view: who did what, when, to which stream and app (by id, with the name it had), for
every event in the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.codec import UnreadableEvent
from rivetr.projections.legacy import LegacyApps


class AuditProjection:
    name = "audit"
    # v2: team, source; v3: the app of deployment, certificate and webhook events; v4: the
    # app by id (the resource recorded with the event), and its name
    version = 4
    handles: frozenset[str] | None = None
    # apply only inserts by position: these serve the readers (see base.reader_indexes)
    reader_indexes = ("audit_by_actor", "audit_by_app", "audit_by_time")

    def __init__(self) -> None:
        self.legacy = LegacyApps("audit")

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS audit (
                position INTEGER PRIMARY KEY,
                recorded_at TEXT NOT NULL,
                actor TEXT NOT NULL,
                type TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                app TEXT,
                app_id TEXT,
                correlation_id TEXT,
                team TEXT,
                source TEXT
            )"""
        )
        # each app's name and team, from its creation: an entry shows the name its app had,
        # and one recorded without a team (deployment steps of older logs) gets its app's
        conn.execute(
            "CREATE TABLE IF NOT EXISTS audit_apps (app_id TEXT PRIMARY KEY, name TEXT, team TEXT)"
        )
        self.legacy.create(conn)
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_app ON audit (app_id, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_time ON audit (recorded_at)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS audit")
        conn.execute("DROP TABLE IF EXISTS audit_apps")
        self.legacy.drop(conn)

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        apps: dict[str, tuple[str | None, str | None]] = {}  # id -> (name, team)

        def app_named(app_id: str | None) -> tuple[str | None, str | None]:
            if app_id is None:
                return None, None
            if app_id not in apps:
                row = conn.execute(
                    "SELECT name, team FROM audit_apps WHERE app_id = ?", (app_id,)
                ).fetchone()
                apps[app_id] = (row[0], row[1]) if row else (None, None)
            return apps[app_id]

        rows = []
        for event in events:
            app_id = self.legacy.app_of(conn, event)
            self.legacy.observe(conn, event)
            if event.type == "app.created" and app_id is not None:
                apps[app_id] = _created(event)
                conn.execute(
                    "INSERT OR REPLACE INTO audit_apps VALUES (?, ?, ?)", (app_id, *apps[app_id])
                )
            name, team = app_named(app_id)
            rows.append(
                (
                    event.position,
                    event.recorded_at,
                    event.actor,
                    event.type,
                    event.stream_id,
                    name,
                    app_id,
                    event.correlation_id,
                    event.team or team,
                    event.source,
                )
            )
        conn.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _created(event: LoggedEvent) -> tuple[str | None, str | None]:
    """The name and team an app was created with."""
    try:
        body = event.event
    except UnreadableEvent:
        return None, None  # the audit lists it all the same, with its stream and metadata
    return getattr(body, "name", None), getattr(body, "team", None)
