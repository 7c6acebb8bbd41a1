"""The databases view: each managed database with its status and its last verified backup,
every backup with its steps' outcome, every restore, and each team's backup targets (never
a secret: passwords, S3 keys and passphrases stay sealed in the log)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.backups import LOCAL
from rivetr.domain.database_events import (
    BackupDeleted,
    BackupFailed,
    BackupReadBack,
    BackupRequested,
    BackupSchedule,
    BackupStored,
    BackupTargetRemoved,
    BackupTargetSet,
    BackupVerified,
    DatabaseActionRequested,
    DatabaseCreated,
    DatabaseDeleted,
    DatabaseFailed,
    DatabasePasswordRotated,
    DatabasePasswordRotationRequested,
    DatabaseRunning,
    DatabaseSchedulesSet,
    DatabaseSettingsChanged,
    DatabaseStopped,
    DatabaseUpgraded,
    DatabaseUpgradeFailed,
    DatabaseUpgradeRequested,
    RestoreCompleted,
    RestoreFailed,
    RestoreRequested,
)
from rivetr.domain.events import TeamDeleted
from rivetr.projections.base import tags, update_row
from rivetr.projections.reading import Queries, columns, marks

_json = msgspec.json.encode


class DatabaseView(msgspec.Struct, frozen=True, kw_only=True):
    database_id: str
    name: str
    team: str
    project: str
    environment: str
    kind: str
    version: str
    image: str
    port: int
    public_port: int | None
    bind_address: str
    memory_mb: int
    cpus: float
    user: str
    database: str
    verify_backups: bool
    schedules: list[BackupSchedule]
    status: str
    wanted: str
    container: str | None
    failure: str | None
    rotating_password: bool
    created_at: str
    created_by: str
    last_backup_id: str | None  # the newest backup asked for, whatever came of it
    last_backup_status: str | None
    last_verified_backup_id: str | None
    last_verified_at: str | None  # its age is what the dashboard shows


class BackupView(msgspec.Struct, frozen=True, kw_only=True):
    backup_id: str
    database_id: str
    team: str
    project: str
    environment: str
    kind: str
    image: str
    target: str
    reason: str
    verify: bool
    encrypted: bool
    status: str  # requested, stored, read_back, verified, failed
    failed_step: str | None
    failure: str | None
    key: str | None
    size: int | None
    sha256: str | None
    counts: dict[str, int]
    requested_at: str
    requested_by: str
    finished_at: str | None
    deleted: bool
    deleted_reason: str | None


class RestoreView(msgspec.Struct, frozen=True, kw_only=True):
    restore_id: str
    backup_id: str
    database_id: str
    safety_backup_id: str | None
    status: str
    failure: str | None
    counts: dict[str, int]
    requested_at: str
    requested_by: str
    finished_at: str | None


class TargetView(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    name: str
    kind: str
    endpoint: str | None
    bucket: str | None
    region: str | None
    prefix: str | None
    path_style: bool
    keep_last: int | None
    keep_days: int | None
    encrypted: bool


class DatabasesProjection:
    name = "databases"
    version = 1
    handles: frozenset[str] | None = tags(
        DatabaseCreated,
        DatabaseSettingsChanged,
        DatabaseActionRequested,
        DatabaseRunning,
        DatabaseStopped,
        DatabaseFailed,
        DatabasePasswordRotationRequested,
        DatabasePasswordRotated,
        DatabaseSchedulesSet,
        DatabaseUpgradeRequested,
        DatabaseUpgraded,
        DatabaseUpgradeFailed,
        DatabaseDeleted,
        BackupTargetSet,
        BackupTargetRemoved,
        BackupRequested,
        BackupStored,
        BackupReadBack,
        BackupVerified,
        BackupFailed,
        BackupDeleted,
        RestoreRequested,
        RestoreCompleted,
        RestoreFailed,
        TeamDeleted,
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS databases (
                database_id TEXT PRIMARY KEY,
                name TEXT NOT NULL, team TEXT NOT NULL, project TEXT NOT NULL,
                environment TEXT NOT NULL, kind TEXT NOT NULL, version TEXT NOT NULL,
                image TEXT NOT NULL, port INTEGER NOT NULL, public_port INTEGER,
                bind_address TEXT NOT NULL, memory_mb INTEGER NOT NULL, cpus REAL NOT NULL,
                user TEXT NOT NULL, database TEXT NOT NULL, verify_backups INTEGER NOT NULL,
                schedules TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL,
                wanted TEXT NOT NULL, container TEXT, failure TEXT,
                rotating_password INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL, created_by TEXT NOT NULL,
                last_backup_id TEXT, last_backup_status TEXT,
                last_verified_backup_id TEXT, last_verified_at TEXT
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS backups (
                backup_id TEXT PRIMARY KEY, database_id TEXT NOT NULL,
                team TEXT NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL,
                kind TEXT NOT NULL, image TEXT NOT NULL, target TEXT NOT NULL,
                reason TEXT NOT NULL, verify INTEGER NOT NULL, encrypted INTEGER NOT NULL,
                status TEXT NOT NULL, failed_step TEXT, failure TEXT, key TEXT, size INTEGER,
                sha256 TEXT, counts TEXT NOT NULL DEFAULT '{}', requested_at TEXT NOT NULL,
                requested_by TEXT NOT NULL, finished_at TEXT,
                deleted INTEGER NOT NULL DEFAULT 0, deleted_reason TEXT
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS backups_of ON backups (database_id)")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS restores (
                restore_id TEXT PRIMARY KEY, backup_id TEXT NOT NULL,
                database_id TEXT NOT NULL, safety_backup_id TEXT, status TEXT NOT NULL,
                failure TEXT, counts TEXT NOT NULL DEFAULT '{}', requested_at TEXT NOT NULL,
                requested_by TEXT NOT NULL, finished_at TEXT
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS backup_targets (
                team TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, endpoint TEXT,
                bucket TEXT, region TEXT, prefix TEXT, path_style INTEGER NOT NULL,
                keep_last INTEGER, keep_days INTEGER, encrypted INTEGER NOT NULL,
                PRIMARY KEY (team, name)
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        for table in ("databases", "backups", "restores", "backup_targets"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case DatabaseCreated():
                _created(conn, body, event)
            case DatabaseDeleted():
                conn.execute("DELETE FROM databases WHERE database_id = ?", (body.database_id,))
            case TeamDeleted():
                for table in ("databases", "backups", "backup_targets"):
                    conn.execute(f"DELETE FROM {table} WHERE team = ?", (body.team,))
            case BackupTargetSet():
                _target(conn, body)
            case BackupTargetRemoved():
                conn.execute(
                    "DELETE FROM backup_targets WHERE team = ? AND name = ?", (body.team, body.name)
                )
            case BackupRequested() | RestoreRequested():
                _requested(conn, body, event)
            case (
                BackupStored()
                | BackupReadBack()
                | BackupVerified()
                | BackupFailed()
                | BackupDeleted()
            ):
                _backup_step(conn, body, event)
            case RestoreCompleted() | RestoreFailed():
                _restore_done(conn, body, event)
            case _:
                _database_step(conn, body)


def _created(conn: sqlite3.Connection, body: DatabaseCreated, event: LoggedEvent) -> None:
    conn.execute(
        """INSERT OR REPLACE INTO databases (database_id, name, team, project, environment,
            kind, version, image, port, public_port, bind_address, memory_mb, cpus, user,
            database, verify_backups, status, wanted, created_at, created_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'starting', 'running', ?, ?)""",
        (
            body.database_id,
            body.name,
            body.team,
            body.project,
            body.environment,
            body.kind,
            body.version,
            body.image,
            body.port,
            body.public_port,
            body.bind_address,
            body.resources.memory_mb,
            body.resources.cpus,
            body.user,
            body.database,
            body.verify_backups,
            event.recorded_at,
            event.actor,
        ),
    )


def _database_step(conn: sqlite3.Connection, body: object) -> None:
    """The database's own events after its creation: a column or two each."""
    changes: dict[str, object] = {}
    match body:
        case DatabaseSettingsChanged():
            for field in ("public_port", "bind_address", "verify_backups"):
                value = getattr(body, field)
                if value is not msgspec.UNSET:
                    changes[field] = value
            if body.resources is not msgspec.UNSET:
                changes |= {"memory_mb": body.resources.memory_mb, "cpus": body.resources.cpus}
        case DatabaseActionRequested():
            stop = body.action == "stop"
            changes = {
                "wanted": "stopped" if stop else "running",
                "status": "stopping" if stop else "starting",
                "failure": None,
            }
        case DatabaseRunning():
            changes = {
                "status": "running",
                "container": body.container,
                "image": body.image,
                "failure": None,
            }
        case DatabaseStopped():
            changes = {"status": "stopped", "failure": body.reason or None}
        case DatabaseFailed():
            changes = {"failure": f"{body.during}: {body.reason}"}
            if body.during == "rotate_password":
                changes["rotating_password"] = False
            else:
                changes["status"] = "failed"
        case DatabasePasswordRotationRequested():
            changes = {"rotating_password": True}
        case DatabasePasswordRotated():
            changes = {"rotating_password": False}
        case DatabaseSchedulesSet():
            changes = {"schedules": _json(body.schedules).decode()}
        case DatabaseUpgradeRequested():
            changes = {"status": "upgrading"}
        case DatabaseUpgraded():
            changes = {
                "status": "running",
                "version": body.version,
                "image": body.image,
                "failure": None,
            }
        case DatabaseUpgradeFailed():
            changes = {
                "status": "running" if body.rolled_back else "failed",
                "failure": f"upgrade: {body.reason}",
            }
    if changes:
        database_id = getattr(body, "database_id")  # noqa: B009 (each arm above has one)
        update_row(conn, "databases", "database_id", database_id, changes)


def _target(conn: sqlite3.Connection, body: BackupTargetSet) -> None:
    s3 = body.s3
    conn.execute(
        "INSERT OR REPLACE INTO backup_targets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            body.team,
            body.name,
            body.kind,
            s3.endpoint if s3 else None,
            s3.bucket if s3 else None,
            s3.region if s3 else None,
            s3.prefix if s3 else None,
            bool(s3 and s3.path_style),
            body.keep_last,
            body.keep_days,
            body.encryption_key is not None,
        ),
    )


def _requested(
    conn: sqlite3.Connection, body: BackupRequested | RestoreRequested, event: LoggedEvent
) -> None:
    if isinstance(body, RestoreRequested):
        conn.execute(
            """INSERT OR REPLACE INTO restores (restore_id, backup_id, database_id,
                safety_backup_id, status, requested_at, requested_by)
            VALUES (?, ?, ?, ?, 'requested', ?, ?)""",
            (
                body.restore_id,
                body.backup_id,
                body.database_id,
                body.safety_backup_id,
                event.recorded_at,
                event.actor,
            ),
        )
        return
    conn.execute(
        """INSERT OR REPLACE INTO backups (backup_id, database_id, team, project, environment,
            kind, image, target, reason, verify, encrypted, status, requested_at, requested_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?)""",
        (
            body.backup_id,
            body.database_id,
            body.team,
            body.project,
            body.environment,
            body.kind,
            body.image,
            body.target,
            body.reason,
            body.verify,
            body.encrypted,
            event.recorded_at,
            event.actor,
        ),
    )
    update_row(
        conn,
        "databases",
        "database_id",
        body.database_id,
        {"last_backup_id": body.backup_id, "last_backup_status": "requested"},
    )


def _backup_step(conn: sqlite3.Connection, body: object, event: LoggedEvent) -> None:
    changes: dict[str, object]
    match body:
        case BackupStored():
            changes = {
                "status": "stored",
                "key": body.key,
                "size": body.size,
                "sha256": body.sha256,
                "counts": _json(body.counts).decode(),
            }
        case BackupReadBack():
            changes = {"status": "read_back", "finished_at": event.recorded_at}
        case BackupVerified():
            changes = {"status": "verified", "finished_at": event.recorded_at}
        case BackupFailed():
            changes = {
                "status": "failed",
                "failed_step": body.step,
                "failure": body.reason,
                "finished_at": event.recorded_at,
            }
        case BackupDeleted():
            changes = {"deleted": True, "deleted_reason": body.reason}
        case _:
            return
    backup_id = getattr(body, "backup_id")  # noqa: B009 (each arm above has one)
    update_row(conn, "backups", "backup_id", backup_id, changes)
    row = conn.execute(
        "SELECT database_id FROM backups WHERE backup_id = ?", (backup_id,)
    ).fetchone()
    if row is None:
        return
    if "status" in changes:
        conn.execute(
            """UPDATE databases SET last_backup_status = ?
            WHERE database_id = ? AND last_backup_id = ?""",
            (changes["status"], row[0], backup_id),
        )
    _newest_verified(conn, row[0])


def _newest_verified(conn: sqlite3.Connection, database_id: str) -> None:
    """The database's newest verified backup not deleted (a deletion may take it away)."""
    found = conn.execute(
        """SELECT backup_id, finished_at FROM backups
        WHERE database_id = ? AND status = 'verified' AND NOT deleted
        ORDER BY finished_at DESC, rowid DESC LIMIT 1""",
        (database_id,),
    ).fetchone()
    conn.execute(
        """UPDATE databases SET last_verified_backup_id = ?, last_verified_at = ?
        WHERE database_id = ?""",
        (found[0] if found else None, found[1] if found else None, database_id),
    )


def _restore_done(
    conn: sqlite3.Connection, body: RestoreCompleted | RestoreFailed, event: LoggedEvent
) -> None:
    changes: dict[str, object] = {"finished_at": event.recorded_at}
    if isinstance(body, RestoreCompleted):
        changes |= {"status": "completed", "counts": _json(body.counts).decode()}
    else:
        changes |= {"status": "failed", "failure": body.reason}
    update_row(conn, "restores", "restore_id", body.restore_id, changes)


class DatabaseQueries(Queries):
    async def every(self, teams: Iterable[str] | None = None) -> list[DatabaseView]:
        """Every database, or those of `teams`, by place then name."""
        sql = f"SELECT {columns(DatabaseView)} FROM databases"
        params: list[str] = []
        if teams is not None:
            params = sorted(teams)
            sql += f" WHERE team IN ({marks(params)})"
        return await self._rows(
            DatabaseView, sql + " ORDER BY team, project, environment, name", params
        )

    async def one(self, database_id: str) -> DatabaseView | None:
        sql = f"SELECT {columns(DatabaseView)} FROM databases WHERE database_id = ?"
        return await self._row(DatabaseView, sql, (database_id,))

    async def in_environment(self, team: str, project: str, environment: str) -> list[DatabaseView]:
        sql = f"""SELECT {columns(DatabaseView)} FROM databases
            WHERE team = ? AND project = ? AND environment = ? ORDER BY name"""
        return await self._rows(DatabaseView, sql, (team, project, environment))

    async def backup_results(self) -> dict[str, int]:
        """How many backups there are by status (deleted ones too: they were made)."""
        rows = await self._values("SELECT status, COUNT(*) FROM backups GROUP BY 1 ORDER BY 1")
        return {row[0]: row[1] for row in rows}

    async def backups_of(self, database_id: str, *, deleted: bool = False) -> list[BackupView]:
        """A database's backups, newest first (deleted ones only when asked)."""
        sql = f"SELECT {columns(BackupView)} FROM backups WHERE database_id = ?"
        if not deleted:
            sql += " AND NOT deleted"
        return await self._rows(BackupView, sql + " ORDER BY rowid DESC", (database_id,))

    async def backup(self, backup_id: str) -> BackupView | None:
        sql = f"SELECT {columns(BackupView)} FROM backups WHERE backup_id = ?"
        return await self._row(BackupView, sql, (backup_id,))

    async def restores_of(self, database_id: str) -> list[RestoreView]:
        sql = f"""SELECT {columns(RestoreView)} FROM restores WHERE database_id = ?
            ORDER BY rowid DESC"""
        return await self._rows(RestoreView, sql, (database_id,))

    async def restore(self, restore_id: str) -> RestoreView | None:
        sql = f"SELECT {columns(RestoreView)} FROM restores WHERE restore_id = ?"
        return await self._row(RestoreView, sql, (restore_id,))

    async def targets(self, team: str) -> list[TargetView]:
        """The team's backup targets, `local` first (it exists without being set)."""
        rows = await self._rows(
            TargetView,
            f"SELECT {columns(TargetView)} FROM backup_targets WHERE team = ? ORDER BY name",
            (team,),
        )
        if not any(row.name == LOCAL for row in rows):
            rows.insert(0, _default_local(team))
        return sorted(rows, key=lambda row: (row.name != LOCAL, row.name))

    async def teams_with_targets(self) -> list[str]:
        """The teams that set backup targets of their own (every team has `local`)."""
        rows = await self._values("SELECT DISTINCT team FROM backup_targets ORDER BY team")
        return [row[0] for row in rows]


def _default_local(team: str) -> TargetView:
    return TargetView(
        team=team,
        name=LOCAL,
        kind="local",
        endpoint=None,
        bucket=None,
        region=None,
        prefix=None,
        path_style=False,
        keep_last=None,
        keep_days=None,
        encrypted=False,
    )
