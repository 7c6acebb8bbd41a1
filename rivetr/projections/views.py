"""Reading the read model: typed views over read.db for the API and the dashboard."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import msgspec

from rivetr.domain.settings import BuildSettings, HealthCheck


class AppView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    git_url: str | None
    branch: str
    build: BuildSettings
    port: int
    domains: list[str]
    health: HealthCheck
    env: list[str]  # names only: values are write-only through the API
    created_at: str
    created_by: str
    updated_at: str
    version: int


class TokenView(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    name: str
    scope: str
    created_at: str
    created_by: str
    revoked_at: str | None


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    recorded_at: str
    actor: str
    type: str
    stream_id: str
    app: str | None
    correlation_id: str | None


_APP_COLUMNS = (
    "name, git_url, branch, build, port, domains, health, env_names, created_at, created_by,"
    " updated_at, version"
)
_decode = msgspec.json.decode


def _app(row: aiosqlite.Row) -> AppView:
    return AppView(
        name=row[0],
        git_url=row[1],
        branch=row[2],
        build=_decode(row[3], type=BuildSettings),
        port=row[4],
        domains=_decode(row[5], type=list[str]),
        health=_decode(row[6], type=HealthCheck),
        env=_decode(row[7], type=list[str]),
        created_at=row[8],
        created_by=row[9],
        updated_at=row[10],
        version=row[11],
    )


class ReadModel:
    """Queries over read.db on a connection of their own (WAL lets them run beside writes)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path | str) -> ReadModel:
        return cls(await aiosqlite.connect(path))

    async def list_apps(self) -> list[AppView]:
        rows = await self._conn.execute_fetchall(f"SELECT {_APP_COLUMNS} FROM apps ORDER BY name")
        return [_app(row) for row in rows]

    async def get_app(self, name: str) -> AppView | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_APP_COLUMNS} FROM apps WHERE name = ?", (name,)
            )
        )
        return _app(rows[0]) if rows else None

    async def token_by_hash(self, secret_hash: str) -> TokenView | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT token_id, name, scope, created_at, created_by, revoked_at FROM tokens"
                " WHERE secret_hash = ?",
                (secret_hash,),
            )
        )
        return (
            TokenView(**dict(zip(TokenView.__struct_fields__, rows[0], strict=True)))
            if rows
            else None
        )

    async def list_tokens(self) -> list[TokenView]:
        rows = await self._conn.execute_fetchall(
            "SELECT token_id, name, scope, created_at, created_by, revoked_at FROM tokens"
            " ORDER BY created_at"
        )
        return [TokenView(**dict(zip(TokenView.__struct_fields__, r, strict=True))) for r in rows]

    async def recent_audit(self, limit: int = 50) -> list[AuditEntry]:
        rows = await self._conn.execute_fetchall(
            "SELECT position, recorded_at, actor, type, stream_id, app, correlation_id FROM audit"
            " ORDER BY position DESC LIMIT ?",
            (limit,),
        )
        return [AuditEntry(**dict(zip(AuditEntry.__struct_fields__, r, strict=True))) for r in rows]

    async def close(self) -> None:
        await self._conn.close()
