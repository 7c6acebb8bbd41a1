"""The projects view: each team's projects and their environments, in the order they were made.

Every team has a `default` project with a `production` environment that no event creates (see
`domain/projects.py`): it appears here with the team, or with the first app of a team that
was never created (the default team of an instance older than accounts)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    AppCreated,
    EnvironmentCreated,
    EnvironmentDeleted,
    ProjectCreated,
    ProjectDeleted,
    TeamCreated,
    TeamDeleted,
)
from rivetr.domain.projects import DEFAULT_PROJECT, PRODUCTION
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, marks


class ProjectsProjection:
    name = "projects"
    version = 1
    handles: frozenset[str] | None = tags(
        TeamCreated,
        TeamDeleted,
        AppCreated,
        ProjectCreated,
        ProjectDeleted,
        EnvironmentCreated,
        EnvironmentDeleted,
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS projects (
                team TEXT NOT NULL,
                project TEXT NOT NULL,
                name TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                PRIMARY KEY (team, project)
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS environments (
                team TEXT NOT NULL,
                project TEXT NOT NULL,
                environment TEXT NOT NULL,
                position INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (team, project, environment)
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS projects")
        conn.execute("DROP TABLE IF EXISTS environments")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        at = event.recorded_at
        match body:
            case TeamCreated():
                _default_project(conn, body.team, event)
            case AppCreated():
                _default_project(conn, body.team, event)
            case TeamDeleted():
                conn.execute("DELETE FROM projects WHERE team = ?", (body.team,))
                conn.execute("DELETE FROM environments WHERE team = ?", (body.team,))
            case ProjectCreated():
                conn.execute(
                    "INSERT OR REPLACE INTO projects VALUES (?, ?, ?, ?, ?)",
                    (body.team, body.project, body.name, at, event.actor),
                )
                for environment in body.environments:
                    _add_environment(conn, body.team, body.project, environment, event)
            case ProjectDeleted():
                where = (body.team, body.project)
                conn.execute("DELETE FROM projects WHERE team = ? AND project = ?", where)
                conn.execute("DELETE FROM environments WHERE team = ? AND project = ?", where)
            case EnvironmentCreated():
                if body.project == DEFAULT_PROJECT:  # of a team the view has not met yet
                    _default_project(conn, body.team, event)
                _add_environment(conn, body.team, body.project, body.environment, event)
            case EnvironmentDeleted():
                conn.execute(
                    "DELETE FROM environments WHERE team = ? AND project = ? AND environment = ?",
                    (body.team, body.project, body.environment),
                )


def _default_project(conn: sqlite3.Connection, team: str, event: LoggedEvent) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO projects VALUES (?, ?, 'Default', ?, ?)",
        (team, DEFAULT_PROJECT, event.recorded_at, event.actor),
    )
    _add_environment(conn, team, DEFAULT_PROJECT, PRODUCTION, event)


def _add_environment(
    conn: sqlite3.Connection, team: str, project: str, environment: str, event: LoggedEvent
) -> None:
    """An environment, placed after those made before it (the log's order)."""
    conn.execute(
        "INSERT OR IGNORE INTO environments VALUES (?, ?, ?, ?, ?)",
        (team, project, environment, event.position, event.recorded_at),
    )


class ProjectView(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    project: str
    name: str
    environments: list[str]  # production first, then in the order they were made
    created_at: str
    created_by: str


class ProjectQueries(Queries):
    async def every(self, teams: Iterable[str] | None = None) -> list[ProjectView]:
        """Every project, or only those of `teams`, by team then slug."""
        sql = "SELECT team, project, name, created_at, created_by FROM projects"
        params: list[str] = []
        if teams is not None:
            params = sorted(teams)
            sql += f" WHERE team IN ({marks(params)})"
        rows = await self._values(sql + " ORDER BY team, project", params)
        environments = await self._environments(params if teams is not None else None)
        return [
            ProjectView(
                team=row["team"],
                project=row["project"],
                name=row["name"],
                environments=environments.get((row["team"], row["project"]), []),
                created_at=row["created_at"],
                created_by=row["created_by"],
            )
            for row in rows
        ]

    async def one(self, team: str, project: str) -> ProjectView | None:
        found = [p for p in await self.every([team]) if p.project == project]
        return found[0] if found else None

    async def _environments(self, teams: list[str] | None) -> dict[tuple[str, str], list[str]]:
        sql = "SELECT team, project, environment FROM environments"
        params: list[str] = []
        if teams is not None:
            params = teams
            sql += f" WHERE team IN ({marks(params)})"
        # production first, whenever it was made; then the others in the log's order
        sql += " ORDER BY team, project, environment != 'production', position"
        found: dict[tuple[str, str], list[str]] = {}
        for row in await self._values(sql, params):
            found.setdefault((row["team"], row["project"]), []).append(row["environment"])
        return found
