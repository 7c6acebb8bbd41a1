"""The tokens view: API tokens by the hash of their secret, for authenticating requests."""

from __future__ import annotations

import sqlite3

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import TokenCreated, TokenOwnerAssigned, TokenRevoked


class TokensProjection:
    name = "tokens"
    version = 3  # v2: owner, expires_at; v3: team
    handles: frozenset[str] | None = frozenset(
        {"token.created", "token.revoked", "token.owner_assigned"}
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS tokens (
                token_id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                scope TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                revoked_at TEXT,
                owner TEXT,
                expires_at TEXT,
                team TEXT
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS tokens")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case TokenCreated():
                conn.execute(
                    "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                    (
                        body.token_id,
                        body.name,
                        body.secret_hash,
                        body.scope,
                        event.recorded_at,
                        event.actor,
                        body.owner,
                        body.expires_at,
                        body.team,
                    ),
                )
            case TokenOwnerAssigned():
                conn.execute(
                    "UPDATE tokens SET owner = ?, team = COALESCE(?, team) WHERE token_id = ?",
                    (body.owner, body.team, body.token_id),
                )
            case TokenRevoked():
                conn.execute(
                    "UPDATE tokens SET revoked_at = ? WHERE token_id = ?",
                    (event.recorded_at, body.token_id),
                )
