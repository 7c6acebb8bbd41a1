"""The stack allowances view: what an instance admin allows each team's compose stacks to ask of
the host (`team.stack_allowances_set`), with who set it and when; a team deleted or made again
has no row, so allows nothing. The deployer and the stack service read a team's here, one row
by its key, at every release and every inline compose file saved."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.events import StackAllowancesSet, TeamCreated, TeamDeleted
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns


class StackAllowancesProjection:
    name = "stack_allowances"
    version = 1
    handles: frozenset[str] | None = tags(StackAllowancesSet, TeamCreated, TeamDeleted)

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS stack_allowances (
                team TEXT PRIMARY KEY,
                allowances TEXT NOT NULL,
                set_at TEXT NOT NULL,
                set_by TEXT NOT NULL
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS stack_allowances")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case StackAllowancesSet():
                conn.execute(
                    "INSERT OR REPLACE INTO stack_allowances VALUES (?, ?, ?, ?)",
                    (
                        body.team,
                        _canonical(body.allowances),
                        event.recorded_at,
                        event.actor,
                    ),
                )
            case TeamCreated() | TeamDeleted():  # nothing carries over to a team made again
                conn.execute("DELETE FROM stack_allowances WHERE team = ?", (body.team,))


def _canonical(allowances: Allowances) -> str:
    """The allowances as JSON with their sets in order: a rebuild writes the same text."""
    data = msgspec.to_builtins(allowances)
    for key in ("cap_add", "host_namespaces"):
        data[key] = sorted(data[key])
    return msgspec.json.encode(data).decode()


class StackAllowancesView(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    allowances: Allowances
    set_at: str | None = None  # None: never set, nothing allowed
    set_by: str | None = None


class StackAllowanceQueries(Queries):
    async def of(self, team: str) -> StackAllowancesView:
        """What `team`'s stacks may ask of the host now (nothing, when never set)."""
        found = await self._row(
            StackAllowancesView,
            f"SELECT {columns(StackAllowancesView)} FROM stack_allowances WHERE team = ?",
            (team,),
        )
        return found or StackAllowancesView(team=team, allowances=Allowances())

    async def allowances(self, team: str) -> Allowances:
        return (await self.of(team)).allowances
