"""The shared variables view: the names of each team's, project's and environment's shared
variables, never their values (those stay sealed in the log, opened only to deploy)."""

from __future__ import annotations

import sqlite3

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    EnvironmentDeleted,
    ProjectDeleted,
    ProjectVariablesChanged,
    TeamDeleted,
    TeamVariablesChanged,
)
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries

_NONE = ""  # the project or environment of a team's (or a project's own) variable


class VariablesProjection:
    name = "variables"
    version = 1
    handles: frozenset[str] | None = tags(
        TeamVariablesChanged,
        ProjectVariablesChanged,
        TeamDeleted,
        ProjectDeleted,
        EnvironmentDeleted,
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS shared_variables (
                team TEXT NOT NULL,
                project TEXT NOT NULL,
                environment TEXT NOT NULL,
                name TEXT NOT NULL,
                PRIMARY KEY (team, project, environment, name)
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS shared_variables")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case TeamVariablesChanged():
                _change(conn, (body.team, _NONE, _NONE), body.set, body.unset)
            case ProjectVariablesChanged():
                place = (body.team, body.project, body.environment or _NONE)
                _change(conn, place, body.set, body.unset)
            case TeamDeleted():
                conn.execute("DELETE FROM shared_variables WHERE team = ?", (body.team,))
            case ProjectDeleted():
                conn.execute(
                    "DELETE FROM shared_variables WHERE team = ? AND project = ?",
                    (body.team, body.project),
                )
            case EnvironmentDeleted():
                conn.execute(
                    "DELETE FROM shared_variables"
                    " WHERE team = ? AND project = ? AND environment = ?",
                    (body.team, body.project, body.environment),
                )


def _change(
    conn: sqlite3.Connection, place: tuple[str, str, str], set_: dict[str, str], unset: list[str]
) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO shared_variables VALUES (?, ?, ?, ?)",
        [(*place, name) for name in set_],
    )
    conn.executemany(
        "DELETE FROM shared_variables"
        " WHERE team = ? AND project = ? AND environment = ? AND name = ?",
        [(*place, name) for name in unset],
    )


class VariableQueries(Queries):
    async def names(
        self, team: str, project: str | None = None, environment: str | None = None
    ) -> list[str]:
        """The names of the team's shared variables, or the project's (`project`), or one of
        its environments' (`environment` too), in order."""
        rows = await self._values(
            "SELECT name FROM shared_variables"
            " WHERE team = ? AND project = ? AND environment = ? ORDER BY name",
            (team, project or _NONE, environment or _NONE),
        )
        return [row["name"] for row in rows]

    async def places(self) -> list[tuple[str, str | None, str | None]]:
        """Every team, project and environment that has shared variables: (team, project or
        None, environment or None)."""
        rows = await self._values(
            "SELECT DISTINCT team, project, environment FROM shared_variables"
            " ORDER BY team, project, environment"
        )
        return [(r["team"], r["project"] or None, r["environment"] or None) for r in rows]
