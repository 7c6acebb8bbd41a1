"""The users view: accounts by e-mail (never their password hash), and sessions by the hash of
their cookie, for authenticating requests."""

from __future__ import annotations

import sqlite3

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import SessionEnded, SessionStarted, UserCreated, UserLockedOut


class UsersProjection:
    name = "users"
    version = 1
    handles: frozenset[str] | None = frozenset(
        {"user.created", "user.locked_out", "user.session_started", "user.session_ended"}
    )

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
