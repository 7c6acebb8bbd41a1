"""/api/v1/databases: make, list, read, change, start, stop, upgrade and delete managed
databases, rotate their passwords, set their backup schedules, and ask for and list their
backups and restores. Reads go through the database queries (which authorise them); every
change is a command through the database or backup service, which only asks: the reactors
do the work and record each step."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from rivetr.adapters.runtime.base import EngineUnavailable
from rivetr.domain.access import Actor
from rivetr.domain.commands import Slug, TeamSlug
from rivetr.domain.database_commands import (
    BackUpDatabase,
    ChangeDatabaseSettings,
    CreateDatabase,
    DeleteDatabase,
    RequestDatabaseAction,
    ResourceId,
    RotateDatabasePassword,
    SetBackupSchedules,
    UpgradeDatabase,
)
from rivetr.domain.database_events import BackupSchedule, DatabaseAction
from rivetr.projections.databases import BackupView, DatabaseView, RestoreView
from rivetr.service.commands.backups import BackupService
from rivetr.service.commands.databases import DatabaseService
from rivetr.service.queries.databases import Connection, DatabaseLogs, DatabaseReads
from rivetr.web.api.bodies import body_of
from rivetr.web.api.runtime_logs import Tail
from rivetr.web.openapi import problems

DatabaseSettingsPatch = body_of(ChangeDatabaseSettings, "DatabaseSettingsPatch", "database_id")
DatabaseUpgrade = body_of(UpgradeDatabase, "DatabaseUpgrade", "database_id")
BackupAsked = body_of(BackUpDatabase, "BackupAsked", "database_id")


class Schedules(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    schedules: list[BackupSchedule] = msgspec.field(default_factory=list)  # empty: none


class PasswordRotation(msgspec.Struct, frozen=True, kw_only=True):
    """The rotation asked for (a reactor sets it on the server), and the apps whose live
    release took the old one through a reference: redeploy them once it is done."""

    database: DatabaseView
    apps: list[str]


class BackupStarted(msgspec.Struct, frozen=True, kw_only=True):
    backup_id: str
    backup: BackupView


class DatabasesController(Controller):
    path = "/databases"
    tags = ["databases"]

    @get("/")
    async def list_databases(
        self,
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
        team: FromQuery[TeamSlug | None] = None,
        project: FromQuery[Slug | None] = None,
        environment: FromQuery[Slug | None] = None,
    ) -> list[DatabaseView]:
        """Every database the caller reads, by place then name; each with its newest backup's
        status and its newest verified backup."""
        return await database_reads.every(actor, team, project, environment)

    @post("/", status_code=HTTP_201_CREATED)
    async def create_database(
        self,
        data: JSONBody[CreateDatabase],
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> Response[DatabaseView]:
        """A database in an environment, its credentials generated and sealed; it is
        `starting` until its container answers its health check."""
        database_id, _ = await databases.create(actor, data)
        view = await database_reads.one(actor, database_id)
        where = f"/api/v1/databases/{database_id}"
        return Response(view, status_code=HTTP_201_CREATED, headers={"Location": where})

    @get("/{database_id:str}")
    async def get_database(
        self,
        database_id: FromPath[ResourceId],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> DatabaseView:
        return await database_reads.one(actor, database_id)

    @patch("/{database_id:str}")
    async def change_database(
        self,
        database_id: FromPath[ResourceId],
        data: JSONBody[DatabaseSettingsPatch],  # type: ignore[valid-type]  # a defstruct type
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> DatabaseView:
        changes: dict[str, Any] = msgspec.structs.asdict(data)
        await databases.run(actor, ChangeDatabaseSettings(database_id=database_id, **changes))
        return await database_reads.one(actor, database_id)

    @delete("/{database_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_database(
        self,
        database_id: FromPath[ResourceId],
        databases: NamedDependency[DatabaseService],
        actor: NamedDependency[Actor],
        keep_volume: FromQuery[bool] = True,
    ) -> None:
        """Its container goes; its volume (the data) stays unless `keep_volume=false`."""
        await databases.run(actor, DeleteDatabase(database_id=database_id, keep_volume=keep_volume))

    @post("/{database_id:str}/start", status_code=HTTP_202_ACCEPTED)
    async def start_database(
        self,
        database_id: FromPath[ResourceId],
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> DatabaseView:
        return await _act(databases, database_reads, actor, database_id, "start")

    @post("/{database_id:str}/stop", status_code=HTTP_202_ACCEPTED)
    async def stop_database(
        self,
        database_id: FromPath[ResourceId],
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> DatabaseView:
        return await _act(databases, database_reads, actor, database_id, "stop")

    @post("/{database_id:str}/restart", status_code=HTTP_202_ACCEPTED)
    async def restart_database(
        self,
        database_id: FromPath[ResourceId],
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> DatabaseView:
        return await _act(databases, database_reads, actor, database_id, "restart")

    @post("/{database_id:str}/rotate-password", status_code=HTTP_202_ACCEPTED)
    async def rotate_password(
        self,
        database_id: FromPath[ResourceId],
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> PasswordRotation:
        """A new generated password (never answered); the apps to redeploy once it is set."""
        await databases.run(actor, RotateDatabasePassword(database_id=database_id))
        view = await database_reads.one(actor, database_id)
        return PasswordRotation(database=view, apps=await database_reads.apps_using(view))

    @put("/{database_id:str}/schedules")
    async def set_schedules(
        self,
        database_id: FromPath[ResourceId],
        data: JSONBody[Schedules],
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> DatabaseView:
        """Replace the backup schedules (cron expressions, each to a target of the team)."""
        command = SetBackupSchedules(database_id=database_id, schedules=data.schedules)
        await databases.run(actor, command)
        return await database_reads.one(actor, database_id)

    @post("/{database_id:str}/upgrade", status_code=HTTP_202_ACCEPTED)
    async def upgrade_database(
        self,
        database_id: FromPath[ResourceId],
        data: JSONBody[DatabaseUpgrade],  # type: ignore[valid-type]  # a defstruct type
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> DatabaseView:
        """Move to another version: a verified backup first, and back to the old image and
        volume if the new one does not come up."""
        fields: dict[str, Any] = msgspec.structs.asdict(data)
        await databases.upgrade(actor, UpgradeDatabase(database_id=database_id, **fields))
        return await database_reads.one(actor, database_id)

    @get("/{database_id:str}/logs", responses=problems(503))  # no engine
    async def database_logs(
        self,
        database_id: FromPath[ResourceId],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
        tail: FromQuery[Tail] = 200,
    ) -> DatabaseLogs:
        """The server's last lines of output (`tail`, default 200)."""
        try:
            return await database_reads.logs(actor, database_id, tail)
        except EngineUnavailable as exc:
            raise ServiceUnavailableException(
                f"the container engine is unavailable: {exc}"
            ) from exc

    @get("/{database_id:str}/connection")
    async def connection(
        self,
        database_id: FromPath[ResourceId],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> Connection:
        """Its host, port, user and URL with the password masked, and the reference an app's
        variable takes (`${{<name>.URL}}`): the password is opened only at deploy time."""
        return await database_reads.connection(actor, database_id)

    @get("/{database_id:str}/backups")
    async def list_backups(
        self,
        database_id: FromPath[ResourceId],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> list[BackupView]:
        """Its backups, newest first, each with the step it reached or failed at, and why."""
        return await database_reads.backups(actor, database_id)

    @post("/{database_id:str}/backups", status_code=HTTP_202_ACCEPTED)
    async def back_up(
        self,
        database_id: FromPath[ResourceId],
        data: JSONBody[BackupAsked],  # type: ignore[valid-type]  # a defstruct type
        backups: NamedDependency[BackupService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> BackupStarted:
        """Ask for a backup now: follow it at /backups/{backup_id} until `verified` (or
        `read_back` when not verified) or `failed`."""
        fields: dict[str, Any] = msgspec.structs.asdict(data)
        backup_id, _ = await backups.back_up(
            actor, BackUpDatabase(database_id=database_id, **fields)
        )
        return BackupStarted(
            backup_id=backup_id, backup=await database_reads.backup(actor, backup_id)
        )

    @get("/{database_id:str}/restores")
    async def list_restores(
        self,
        database_id: FromPath[ResourceId],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> list[RestoreView]:
        return await database_reads.restores(actor, database_id)


async def _act(
    databases: DatabaseService,
    database_reads: DatabaseReads,
    actor: Actor,
    database_id: str,
    action: DatabaseAction,
) -> DatabaseView:
    await databases.run(actor, RequestDatabaseAction(database_id=database_id, action=action))
    return await database_reads.one(actor, database_id)
