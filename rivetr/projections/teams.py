"""The teams view: teams, who belongs to each in which role (and in which role in those projects
where it differs), and the invitations sent.

Requests are authorised from here: a session's or a token's permissions are those of its user's
role in the team concerned, and in its projects, as this view says it is now
(`TeamQueries.memberships_of`, `TeamQueries.project_roles_of`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    InvitationAccepted,
    InvitationCreated,
    InvitationRevoked,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OwnershipTransferred,
    ProjectDeleted,
    ProjectRoleSet,
    TeamCreated,
    TeamDeleted,
)
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns


class TeamsProjection:
    name = "teams"
    version = 2  # v2: project roles
    handles: frozenset[str] | None = tags(
        TeamCreated,
        MemberAdded,
        MemberRoleChanged,
        MemberRemoved,
        OwnershipTransferred,
        TeamDeleted,
        InvitationCreated,
        InvitationAccepted,
        InvitationRevoked,
        ProjectRoleSet,
        ProjectDeleted,
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS teams (
                team TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                owner TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS members (
                team TEXT NOT NULL,
                user_id TEXT NOT NULL,
                role TEXT NOT NULL,
                since TEXT NOT NULL,
                PRIMARY KEY (team, user_id)
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id)")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS invitations (
                invitation_id TEXT PRIMARY KEY,
                team TEXT NOT NULL,
                email TEXT NOT NULL,
                role TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                expires_at TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                status TEXT NOT NULL,
                closed_at TEXT
            )"""
        )

        conn.execute(
            """CREATE TABLE IF NOT EXISTS project_roles (
                team TEXT NOT NULL,
                user_id TEXT NOT NULL,
                project TEXT NOT NULL,
                role TEXT NOT NULL,
                since TEXT NOT NULL,
                PRIMARY KEY (team, user_id, project)
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS project_roles_by_user ON project_roles (user_id)")

    def drop(self, conn: sqlite3.Connection) -> None:
        for table in ("teams", "members", "invitations", "project_roles"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        at = event.recorded_at
        match body:
            case TeamCreated():
                conn.execute(
                    "INSERT OR REPLACE INTO teams VALUES (?, ?, ?, ?, ?)",
                    (body.team, body.name, body.owner, at, event.actor),
                )
                conn.execute(
                    "INSERT OR REPLACE INTO members VALUES (?, ?, 'owner', ?)",
                    (body.team, body.owner, at),
                )
            case MemberAdded():
                conn.execute(
                    "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?)",
                    (body.team, body.user_id, body.role, at),
                )
            case MemberRoleChanged():
                conn.execute(
                    "UPDATE members SET role = ? WHERE team = ? AND user_id = ?",
                    (body.role, body.team, body.user_id),
                )
            case MemberRemoved():
                conn.execute(
                    "DELETE FROM members WHERE team = ? AND user_id = ?", (body.team, body.user_id)
                )
                conn.execute(
                    "DELETE FROM project_roles WHERE team = ? AND user_id = ?",
                    (body.team, body.user_id),
                )
            case ProjectRoleSet() if body.role is None:
                conn.execute(
                    "DELETE FROM project_roles WHERE team = ? AND user_id = ? AND project = ?",
                    (body.team, body.user_id, body.project),
                )
            case ProjectRoleSet():
                conn.execute(
                    "INSERT OR REPLACE INTO project_roles VALUES (?, ?, ?, ?, ?)",
                    (body.team, body.user_id, body.project, body.role, at),
                )
            case ProjectDeleted():
                # a project made again under the same slug starts with no project roles
                conn.execute(
                    "DELETE FROM project_roles WHERE team = ? AND project = ?",
                    (body.team, body.project),
                )
            case OwnershipTransferred():
                conn.execute("UPDATE teams SET owner = ? WHERE team = ?", (body.to_user, body.team))
                conn.executemany(
                    "UPDATE members SET role = ? WHERE team = ? AND user_id = ?",
                    [("admin", body.team, body.from_user), ("owner", body.team, body.to_user)],
                )
                conn.execute(
                    "DELETE FROM project_roles WHERE team = ? AND user_id = ?",
                    (body.team, body.to_user),
                )
            case TeamDeleted():
                conn.execute("DELETE FROM teams WHERE team = ?", (body.team,))
                conn.execute("DELETE FROM members WHERE team = ?", (body.team,))
                conn.execute("DELETE FROM project_roles WHERE team = ?", (body.team,))
                conn.execute(
                    "UPDATE invitations SET status = 'revoked', closed_at = ?"
                    " WHERE team = ? AND status = 'open'",
                    (at, body.team),
                )
            case InvitationCreated():
                conn.execute(
                    "INSERT OR REPLACE INTO invitations VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL)",
                    (
                        body.invitation_id,
                        body.team,
                        body.email,
                        body.role,
                        body.secret_hash,
                        body.expires_at,
                        at,
                        event.actor,
                    ),
                )
            case InvitationAccepted() | InvitationRevoked():
                status = "accepted" if isinstance(body, InvitationAccepted) else "revoked"
                conn.execute(
                    "UPDATE invitations SET status = ?, closed_at = ? WHERE invitation_id = ?",
                    (status, at, body.invitation_id),
                )


class TeamView(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    name: str
    owner: str
    created_at: str
    created_by: str


class MemberView(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    user_id: str
    role: str
    since: str


class ProjectRoleView(msgspec.Struct, frozen=True, kw_only=True):
    """A member's role in one project of the team, in place of their team role there."""

    team: str
    user_id: str
    project: str
    role: str  # admin, developer, viewer, or none (no access to the project)
    since: str


class InvitationView(msgspec.Struct, frozen=True, kw_only=True):
    invitation_id: str
    team: str
    email: str
    role: str
    expires_at: str
    created_at: str
    created_by: str
    status: str  # open, accepted, revoked
    closed_at: str | None


_INVITATION = f"SELECT {columns(InvitationView)} FROM invitations"


class TeamQueries(Queries):
    async def every(self, teams: Iterable[str] | None = None) -> list[TeamView]:
        """Every team, or only those of `teams`."""
        found = await self._rows(TeamView, f"SELECT {columns(TeamView)} FROM teams ORDER BY team")
        if teams is None:
            return found
        wanted = set(teams)
        return [t for t in found if t.team in wanted]

    async def members(self, team: str) -> list[MemberView]:
        return await self._rows(
            MemberView,
            f"SELECT {columns(MemberView)} FROM members WHERE team = ? ORDER BY user_id",
            (team,),
        )

    async def memberships_of(self, user_id: str) -> dict[str, str]:
        """team -> the user's role in it."""
        rows = await self._values("SELECT team, role FROM members WHERE user_id = ?", (user_id,))
        return {row["team"]: row["role"] for row in rows}

    async def project_roles_of(self, user_id: str) -> dict[str, dict[str, str]]:
        """team -> project -> the user's role there, where it differs from their team role."""
        rows = await self._values(
            "SELECT team, project, role FROM project_roles WHERE user_id = ?", (user_id,)
        )
        found: dict[str, dict[str, str]] = {}
        for row in rows:
            found.setdefault(row["team"], {})[row["project"]] = row["role"]
        return found

    async def project_roles(self, team: str) -> list[ProjectRoleView]:
        return await self._rows(
            ProjectRoleView,
            f"SELECT {columns(ProjectRoleView)} FROM project_roles WHERE team = ?"
            " ORDER BY user_id, project",
            (team,),
        )

    async def invitations(self, team: str) -> list[InvitationView]:
        return await self._rows(
            InvitationView, f"{_INVITATION} WHERE team = ? ORDER BY created_at", (team,)
        )

    async def invitation_by_hash(self, secret_hash: str) -> InvitationView | None:
        return await self._row(
            InvitationView, f"{_INVITATION} WHERE secret_hash = ?", (secret_hash,)
        )
