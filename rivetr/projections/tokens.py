"""The tokens view: API tokens by the hash of their secret, for authenticating requests, with
what each one's standing depends on: the token that minted it, and whether the membership it
was minted under has ended; and the queries that read them."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    MemberRemoved,
    TeamDeleted,
    TokenCreated,
    TokenOwnerAssigned,
    TokenRevoked,
)
from rivetr.domain.teams import ROOT_TEAM
from rivetr.domain.tokens import TokenLink
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns

# Far beyond any real lineage; a longer one is cut here and then refused as of unknown descent.
CHAIN_LIMIT = 64

# The presented token first, then each token it descends from.
CHAIN_QUERY = f"""
WITH RECURSIVE chain(depth, token_id) AS (
    SELECT 0, ?
    UNION ALL
    SELECT chain.depth + 1, tokens.parent_token_id FROM chain JOIN tokens USING (token_id)
    WHERE tokens.parent_token_id IS NOT NULL AND chain.depth < {CHAIN_LIMIT}
)
SELECT tokens.token_id, parent_token_id, revoked_at IS NOT NULL AS revoked, expires_at,
    membership_ended_at IS NOT NULL AS membership_ended
FROM chain JOIN tokens USING (token_id) ORDER BY depth
"""


class TokensProjection:
    name = "tokens"
    # v2: owner, expires_at; v3: team; v4: parent_token_id, membership_ended_at; v5: project
    version = 5
    handles: frozenset[str] | None = tags(
        TokenCreated, TokenRevoked, TokenOwnerAssigned, MemberRemoved, TeamDeleted
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
                team TEXT,
                parent_token_id TEXT,
                membership_ended_at TEXT,
                project TEXT
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS tokens")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        at = event.recorded_at
        match body:
            case TokenCreated():
                conn.execute(
                    "INSERT OR REPLACE INTO tokens VALUES"
                    " (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL, ?)",
                    (
                        body.token_id,
                        body.name,
                        body.secret_hash,
                        body.scope,
                        at,
                        event.actor,
                        body.owner,
                        body.expires_at,
                        body.team,
                        body.parent_token_id,
                        body.project,
                    ),
                )
            case TokenOwnerAssigned():
                conn.execute(
                    "UPDATE tokens SET owner = ?, team = COALESCE(?, team) WHERE token_id = ?",
                    (body.owner, body.team, body.token_id),
                )
            case TokenRevoked():
                conn.execute(
                    "UPDATE tokens SET revoked_at = ? WHERE token_id = ?", (at, body.token_id)
                )
            case MemberRemoved():
                # Applied in the log's order, so only tokens minted (or handed over) before the
                # removal are marked: being added again later does not bring them back.
                conn.execute(
                    "UPDATE tokens SET membership_ended_at = ? WHERE owner = ?"
                    " AND COALESCE(team, ?) = ? AND membership_ended_at IS NULL",
                    (at, body.user_id, ROOT_TEAM, body.team),
                )
            case TeamDeleted():
                conn.execute(
                    "UPDATE tokens SET membership_ended_at = ? WHERE team = ?"
                    " AND membership_ended_at IS NULL",
                    (at, body.team),
                )


class TokenView(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    name: str
    scope: str
    created_at: str
    created_by: str
    revoked_at: str | None
    owner: str | None
    expires_at: str | None
    team: str | None
    parent_token_id: str | None  # the token that minted it; it stops working with that one
    project: str | None = None  # the one project of its team it acts in (None: all of them)


_TOKEN = f"SELECT {columns(TokenView)} FROM tokens"


class TokenQueries(Queries):
    async def every(self) -> list[TokenView]:
        return await self._rows(TokenView, f"{_TOKEN} ORDER BY created_at")

    async def by_hash(self, secret_hash: str) -> TokenView | None:
        return await self._row(TokenView, f"{_TOKEN} WHERE secret_hash = ?", (secret_hash,))

    async def chain(self, token_id: str) -> list[TokenLink]:
        """The token and each one it descends from, nearest first."""
        return await self._rows(TokenLink, CHAIN_QUERY, (token_id,))
