"""The counterparts view: which resources a clone paired (the copy made in one environment and
the resource it was made of in another), both ways, so that a promotion knows which app of
production answers to which of staging. A pair ends when either side is deleted."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import AppDeleted, EnvironmentCloned
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns


class CounterpartsProjection:
    name = "counterparts"
    version = 1
    handles: frozenset[str] | None = tags(EnvironmentCloned, AppDeleted)

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS counterparts (
                resource_id TEXT NOT NULL,
                counterpart_id TEXT NOT NULL,
                team TEXT NOT NULL,
                position INTEGER NOT NULL,
                PRIMARY KEY (resource_id, counterpart_id)
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS counterparts")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        if isinstance(body, AppDeleted):
            conn.execute(
                "DELETE FROM counterparts WHERE resource_id = ? OR counterpart_id = ?",
                (event.resource, event.resource),
            )
        elif isinstance(body, EnvironmentCloned):
            pairs = [(r.from_id, r.id) for r in body.resources]
            conn.executemany(
                "INSERT OR REPLACE INTO counterparts VALUES (?, ?, ?, ?)",
                [
                    (a, b, body.team, event.position)
                    for pair in pairs
                    for a, b in (pair, pair[::-1])
                ],
            )


class Counterpart(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: str
    counterpart_id: str
    team: str


class CounterpartQueries(Queries):
    async def of(self, resource_id: str) -> list[str]:
        """The ids of the resources paired with `resource_id`, the earliest pair first."""
        rows = await self._rows(
            Counterpart,
            f"SELECT {columns(Counterpart)} FROM counterparts WHERE resource_id = ?"
            " ORDER BY position",
            (resource_id,),
        )
        return [row.counterpart_id for row in rows]
