"""The teams view: teams, who belongs to each in which role, and the invitations sent.

Requests are authorised from here: a session's or a token's permissions are those of its user's
role in the team concerned, as this view says it is now."""

from __future__ import annotations

import sqlite3

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    InvitationAccepted,
    InvitationCreated,
    InvitationRevoked,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OwnershipTransferred,
    TeamCreated,
    TeamDeleted,
)


class TeamsProjection:
    name = "teams"
    version = 1
    handles: frozenset[str] | None = frozenset(
        {
            "team.created",
            "team.member_added",
            "team.member_role_changed",
            "team.member_removed",
            "team.ownership_transferred",
            "team.deleted",
            "team.invitation_created",
            "team.invitation_accepted",
            "team.invitation_revoked",
        }
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

    def drop(self, conn: sqlite3.Connection) -> None:
        for table in ("teams", "members", "invitations"):
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
            case OwnershipTransferred():
                conn.execute("UPDATE teams SET owner = ? WHERE team = ?", (body.to_user, body.team))
                conn.executemany(
                    "UPDATE members SET role = ? WHERE team = ? AND user_id = ?",
                    [("admin", body.team, body.from_user), ("owner", body.team, body.to_user)],
                )
            case TeamDeleted():
                conn.execute("DELETE FROM teams WHERE team = ?", (body.team,))
                conn.execute("DELETE FROM members WHERE team = ?", (body.team,))
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
