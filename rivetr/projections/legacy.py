"""Which app an event concerns, for the events recorded before events carried it.

Since migration 0003 an event records its resource (the app's id) when it is appended, and a
reader takes it from there. An older event names its app by name only, and a name could belong
to several apps one after the other: the app it meant is the one that held the name at that
point of the log. A projection that reads the log in order knows that point; it keeps, in two
small tables of its own (rebuilt with it), each old app stream's current app and each old
deployment's app. This is the one place that derivation lives.
"""

from __future__ import annotations

import sqlite3

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.codec import UnreadableEvent
from rivetr.domain.events import AppCreated, AppDeleted, DeploymentRequested
from rivetr.projections.base import tag, tags

# the event types `observe` learns from: a projection using this adds them to its `handles`
LEARNS_FROM = tags(AppCreated, AppDeleted, DeploymentRequested)
APP_CREATED, APP_DELETED, DEPLOYMENT_REQUESTED = (
    tag(AppCreated),
    tag(AppDeleted),
    tag(DeploymentRequested),
)


class LegacyApps:
    def __init__(self, prefix: str) -> None:
        self.streams = f"{prefix}_legacy_app_streams"
        self.deployments = f"{prefix}_legacy_deployments"

    def create(self, conn: sqlite3.Connection) -> None:
        for table in (self.streams, self.deployments):
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table}"
                " (stream_id TEXT PRIMARY KEY, app_id TEXT NOT NULL)"
            )

    def drop(self, conn: sqlite3.Connection) -> None:
        for table in (self.streams, self.deployments):
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def observe(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        """Learn from an event of an older log (no recorded resource) which app its stream
        belongs to from now on. Call it after `app_of` for the same event."""
        if event.resource is not None or event.type not in LEARNS_FROM:
            return
        if event.type == APP_DELETED:  # the name is free: later mentions of it mean no app
            conn.execute(f"DELETE FROM {self.streams} WHERE stream_id = ?", (event.stream_id,))
            return
        try:
            body = event.event
        except UnreadableEvent:
            return  # nothing to learn from: the events that follow it resolve to no app
        if isinstance(body, AppCreated):
            conn.execute(
                f"INSERT OR REPLACE INTO {self.streams} VALUES (?, ?)",
                (event.stream_id, body.app_id),
            )
        elif isinstance(body, DeploymentRequested):
            app_id = body.app_id or self._holding(conn, f"app-{body.app}")
            if app_id is not None:
                conn.execute(
                    f"INSERT OR REPLACE INTO {self.deployments} VALUES (?, ?)",
                    (event.stream_id, app_id),
                )

    def app_of(self, conn: sqlite3.Connection, event: LoggedEvent) -> str | None:
        """The id of the app the event concerns (call `observe` first): recorded with it, or
        for an older event, derived from its stream or the app its body names."""
        if event.resource is not None:
            return event.resource
        stream = event.stream_id
        if event.type in (APP_CREATED, DEPLOYMENT_REQUESTED):
            try:
                body = event.event
            except UnreadableEvent:
                return None
            if isinstance(body, DeploymentRequested):
                return body.app_id or self._holding(conn, f"app-{body.app}")
            return getattr(body, "app_id", None)
        if stream.startswith("app-"):
            return self._holding(conn, stream)
        if stream.startswith("deployment-"):
            row = conn.execute(
                f"SELECT app_id FROM {self.deployments} WHERE stream_id = ?", (stream,)
            ).fetchone()
            return row[0] if row else None
        if b'"app":' in event.data:
            try:
                name = getattr(event.event, "app", None)
            except UnreadableEvent:
                return None
            if isinstance(name, str):
                return self._holding(conn, f"app-{name}")
        return None

    def _holding(self, conn: sqlite3.Connection, stream: str) -> str | None:
        row = conn.execute(
            f"SELECT app_id FROM {self.streams} WHERE stream_id = ?", (stream,)
        ).fetchone()
        return row[0] if row else None
