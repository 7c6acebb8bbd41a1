"""The variables view: the names of each team's, project's and environment's shared variables,
and the scopes of each app's variables (whether a preview value is set, never which), never a
value (those stay sealed in the log, opened only to deploy)."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    AppDeleted,
    AppEnvChanged,
    AppVariableScopesChanged,
    EnvironmentDeleted,
    ProjectDeleted,
    ProjectVariablesChanged,
    TeamDeleted,
    TeamVariablesChanged,
)
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns

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
        AppVariableScopesChanged,
        AppEnvChanged,
        AppDeleted,
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

        conn.execute(
            """CREATE TABLE IF NOT EXISTS variable_scopes (
                app_id TEXT NOT NULL,
                name TEXT NOT NULL,
                build INTEGER NOT NULL,
                runtime INTEGER NOT NULL,
                preview INTEGER NOT NULL,
                preview_value INTEGER NOT NULL,
                PRIMARY KEY (app_id, name)
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS shared_variables")
        conn.execute("DROP TABLE IF EXISTS variable_scopes")

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
            case AppVariableScopesChanged() if event.resource:
                _scopes(conn, event.resource, body)
            case AppEnvChanged() if event.resource:  # a variable removed: its scope too
                conn.executemany(
                    "DELETE FROM variable_scopes WHERE app_id = ? AND name = ?",
                    [(event.resource, name) for name in body.unset],
                )
            case AppDeleted() if event.resource:
                conn.execute("DELETE FROM variable_scopes WHERE app_id = ?", (event.resource,))


def _scopes(conn: sqlite3.Connection, app_id: str, body: AppVariableScopesChanged) -> None:
    """Each named variable's scopes; a variable with none recorded is runtime and preview."""
    for name in {*body.scopes, *body.preview_values, *body.preview_unset}:
        conn.execute(
            "INSERT OR IGNORE INTO variable_scopes VALUES (?, ?, 0, 1, 1, 0)", (app_id, name)
        )
    conn.executemany(
        "UPDATE variable_scopes SET build = ?, runtime = ?, preview = ?"
        " WHERE app_id = ? AND name = ?",
        [(s.build, s.runtime, s.preview, app_id, name) for name, s in body.scopes.items()],
    )
    conn.executemany(
        "UPDATE variable_scopes SET preview_value = ? WHERE app_id = ? AND name = ?",
        [(1, app_id, name) for name in body.preview_values]
        + [(0, app_id, name) for name in body.preview_unset],
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


class ScopeView(msgspec.Struct, frozen=True, kw_only=True):
    """Where an app's variable goes, and whether previews take a value of their own."""

    name: str
    build: bool = False
    runtime: bool = True
    preview: bool = True
    preview_value: bool = False


class VariableQueries(Queries):
    async def scopes(self, app_id: str) -> dict[str, ScopeView]:
        """The app's variables that have scopes recorded (the others: runtime and preview)."""
        rows = await self._rows(
            ScopeView,
            f"SELECT {columns(ScopeView)} FROM variable_scopes WHERE app_id = ? ORDER BY name",
            (app_id,),
        )
        return {row.name: row for row in rows}

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
