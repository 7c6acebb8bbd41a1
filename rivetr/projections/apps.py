"""The apps view: every live application with its current settings (env values never stored)."""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.domain.events import AppCreated, AppDeleted, AppEnvChanged, AppSettingsChanged

_json = msgspec.json.encode

# column -> how an event field is stored in it
_JSON_COLUMNS = {"build", "domains", "health"}


class AppsProjection:
    name = "apps"
    version = 1
    handles: frozenset[str] | None = frozenset(
        {"app.created", "app.settings_changed", "app.env_changed", "app.deleted"}
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS apps (
                name TEXT PRIMARY KEY,
                git_url TEXT,
                branch TEXT NOT NULL,
                build TEXT NOT NULL,
                port INTEGER NOT NULL,
                domains TEXT NOT NULL,
                health TEXT NOT NULL,
                env_names TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                version INTEGER NOT NULL
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS apps")

    def apply(self, conn: sqlite3.Connection, event: RecordedEvent) -> None:
        body = event.event
        match body:
            case AppCreated():
                conn.execute(
                    "INSERT OR REPLACE INTO apps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        body.name,
                        body.git_url,
                        body.branch,
                        _json(body.build),
                        body.port,
                        _json(body.domains),
                        _json(body.health),
                        _json(sorted(body.env)),
                        event.recorded_at,
                        event.actor,
                        event.recorded_at,
                        event.version,
                    ),
                )
            case AppSettingsChanged():
                changed: dict[str, Any] = {
                    field: _json(value) if field in _JSON_COLUMNS else value
                    for field in ("git_url", "branch", "build", "port", "domains", "health")
                    if (value := getattr(body, field)) is not msgspec.UNSET
                }
                self._update(conn, body.name, event, changed)
            case AppEnvChanged():
                row = conn.execute(
                    "SELECT env_names FROM apps WHERE name = ?", (body.name,)
                ).fetchone()
                names = set(msgspec.json.decode(row[0])) if row else set()
                names = (names - set(body.unset)) | set(body.set)
                self._update(conn, body.name, event, {"env_names": _json(sorted(names))})
            case AppDeleted():
                conn.execute("DELETE FROM apps WHERE name = ?", (body.name,))

    @staticmethod
    def _update(
        conn: sqlite3.Connection, name: str, event: RecordedEvent, changed: dict[str, Any]
    ) -> None:
        changed |= {"updated_at": event.recorded_at, "version": event.version}
        assignments = ", ".join(f"{column} = ?" for column in changed)
        conn.execute(f"UPDATE apps SET {assignments} WHERE name = ?", (*changed.values(), name))
