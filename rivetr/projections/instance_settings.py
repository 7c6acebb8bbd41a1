"""The instance settings view: the values the log sets (`instance.settings_changed`), with
when and by whom each was last set; and the query that reads them. A setting the log gives
back to the config file has no row."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import InstanceSettingsChanged
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns


class InstanceSettingsProjection:
    name = "instance_settings"
    version = 1
    handles: frozenset[str] | None = tags(InstanceSettingsChanged)

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS instance_settings (
                setting TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                changed_at TEXT NOT NULL,
                changed_by TEXT NOT NULL
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS instance_settings")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        if not isinstance(body, InstanceSettingsChanged):
            return
        for setting, value in body.changes.items():
            if value is None:
                conn.execute("DELETE FROM instance_settings WHERE setting = ?", (setting,))
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO instance_settings VALUES (?, ?, ?, ?)",
                    (setting, value, event.recorded_at, event.actor),
                )


class InstanceSettingView(msgspec.Struct, frozen=True, kw_only=True):
    setting: str
    value: str
    changed_at: str
    changed_by: str


class InstanceSettingQueries(Queries):
    async def every(self) -> dict[str, InstanceSettingView]:
        """setting -> its value as the log sets it."""
        rows = await self._rows(
            InstanceSettingView, f"SELECT {columns(InstanceSettingView)} FROM instance_settings"
        )
        return {row.setting: row for row in rows}
