"""The users view: accounts by e-mail (never their password hash), and sessions by the hash of
their cookie, for authenticating requests; and the queries that read them."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import SessionEnded, SessionStarted, UserCreated, UserLockedOut
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns


class UsersProjection:
    name = "users"
    version = 1
    handles: frozenset[str] | None = tags(UserCreated, UserLockedOut, SessionStarted, SessionEnded)

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS users (
                user_id TEXT PRIMARY KEY,
                email TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                locked_until TEXT
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS sessions (
                session_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                started_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                remote TEXT,
                ended_at TEXT
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS users")
        conn.execute("DROP TABLE IF EXISTS sessions")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case UserCreated():
                conn.execute(
                    "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?, NULL)",
                    (body.user_id, body.email, body.role, event.recorded_at, event.actor),
                )
            case UserLockedOut():
                conn.execute(
                    "UPDATE users SET locked_until = ? WHERE user_id = ?",
                    (body.until, body.user_id),
                )
            case SessionStarted():
                conn.execute(
                    "UPDATE users SET locked_until = NULL WHERE user_id = ?", (body.user_id,)
                )
                conn.execute(
                    "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (
                        body.session_id,
                        body.user_id,
                        body.secret_hash,
                        body.at,
                        body.expires_at,
                        body.remote,
                    ),
                )
            case SessionEnded():
                conn.execute(
                    "UPDATE sessions SET ended_at = ? WHERE session_id = ?",
                    (event.recorded_at, body.session_id),
                )


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    email: str
    role: str
    created_at: str
    created_by: str
    locked_until: str | None


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    """A session as a request is authenticated by it: with its user's instance role."""

    session_id: str
    user_id: str
    role: str
    expires_at: str
    ended_at: str | None


class SessionListing(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    user_id: str
    started_at: str
    expires_at: str
    remote: str | None
    ended_at: str | None


_SESSION = (
    f"SELECT {columns(SessionView, session_id='s.session_id', user_id='s.user_id')}"
    " FROM sessions s JOIN users u ON u.user_id = s.user_id"
)
_LISTING = f"SELECT {columns(SessionListing)} FROM sessions WHERE ended_at IS NULL"


class UserQueries(Queries):
    async def every(self) -> list[UserView]:
        return await self._rows(UserView, f"SELECT {columns(UserView)} FROM users ORDER BY user_id")

    async def session_by_hash(self, secret_hash: str) -> SessionView | None:
        return await self._row(SessionView, f"{_SESSION} WHERE s.secret_hash = ?", (secret_hash,))

    async def sessions(self, user_id: str | None = None) -> list[SessionListing]:
        """Sessions not ended, of one user or of all."""
        if user_id is None:
            return await self._rows(SessionListing, f"{_LISTING} ORDER BY started_at")
        return await self._rows(
            SessionListing, f"{_LISTING} AND user_id = ? ORDER BY started_at", (user_id,)
        )
