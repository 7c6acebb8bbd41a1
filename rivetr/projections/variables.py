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
                build INTEGER NOT NULL DEFAULT 0,
                runtime INTEGER NOT NULL DEFAULT 1,
                preview INTEGER NOT NULL DEFAULT 1,
                preview_value INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (team, project, environment, name)
            )"""
        )

        conn.execute(
            """CREATE TABLE IF NOT EXISTS variable_scopes (
                app_id TEXT NOT NULL,
                name TEXT NOT NULL,
                build INTEGER NOT NULL DEFAULT 0,
                runtime INTEGER NOT NULL DEFAULT 1,
                preview INTEGER NOT NULL DEFAULT 1,
                preview_value INTEGER NOT NULL DEFAULT 0,
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
                _change(conn, (body.team, _NONE, _NONE), body)
            case ProjectVariablesChanged():
                _change(conn, (body.team, body.project, body.environment or _NONE), body)
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
                _scopes(conn, "variable_scopes", {"app_id": event.resource}, body)
            case AppEnvChanged() if event.resource:  # a variable removed: its scope too
                conn.executemany(
                    "DELETE FROM variable_scopes WHERE app_id = ? AND name = ?",
                    [(event.resource, name) for name in body.unset],
                )
            case AppDeleted() if event.resource:
                conn.execute("DELETE FROM variable_scopes WHERE app_id = ?", (event.resource,))


Scoped = AppVariableScopesChanged | TeamVariablesChanged | ProjectVariablesChanged


def _scopes(conn: sqlite3.Connection, table: str, keys: dict[str, str], body: Scoped) -> None:
    """Each named variable's scopes and whether it has a preview value, in the rows of `table`
    whose key columns hold `keys`; a variable with none recorded is runtime and preview."""
    columns_ = [*keys, "name"]
    where = " AND ".join(f"{column} = ?" for column in columns_)
    for name in {*body.scopes, *body.preview_values, *body.preview_unset}:
        conn.execute(
            f"INSERT OR IGNORE INTO {table} ({', '.join(columns_)})"
            f" VALUES ({', '.join('?' for _ in columns_)})",
            (*keys.values(), name),
        )
    conn.executemany(
        f"UPDATE {table} SET build = ?, runtime = ?, preview = ? WHERE {where}",
        [(s.build, s.runtime, s.preview, *keys.values(), name) for name, s in body.scopes.items()],
    )
    conn.executemany(
        f"UPDATE {table} SET preview_value = ? WHERE {where}",
        [(1, *keys.values(), name) for name in body.preview_values]
        + [(0, *keys.values(), name) for name in body.preview_unset],
    )


def _change(
    conn: sqlite3.Connection,
    place: tuple[str, str, str],
    body: TeamVariablesChanged | ProjectVariablesChanged,
) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO shared_variables (team, project, environment, name)"
        " VALUES (?, ?, ?, ?)",
        [(*place, name) for name in body.set],
    )
    conn.executemany(
        "DELETE FROM shared_variables"
        " WHERE team = ? AND project = ? AND environment = ? AND name = ?",
        [(*place, name) for name in body.unset],
    )
    keys = dict(zip(("team", "project", "environment"), place, strict=True))
    _scopes(conn, "shared_variables", keys, body)


class ScopeView(msgspec.Struct, frozen=True, kw_only=True):
    """Where a variable (an app's, or a shared one) goes, and whether previews take a value
    of their own."""

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

    async def shared(
        self, team: str, project: str | None = None, environment: str | None = None
    ) -> list[ScopeView]:
        """The team's shared variables, or the project's (`project`), or one of its
        environments' (`environment` too), with their scopes, by name."""
        return await self._rows(
            ScopeView,
            f"SELECT {columns(ScopeView)} FROM shared_variables"
            " WHERE team = ? AND project = ? AND environment = ? ORDER BY name",
            (team, project or _NONE, environment or _NONE),
        )

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
