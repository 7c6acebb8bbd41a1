"""/api/v1/backups, /api/v1/restores and /api/v1/teams/{team}/backup-targets: one backup, its
deletion and its restore (a dry run says what would happen), one restore, and a team's
backup targets, whose secrets are write-only (sealed by the service, never answered)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor
from rivetr.domain.commands import TeamSlug
from rivetr.domain.database_commands import (
    DeleteBackup,
    RemoveBackupTarget,
    ResourceId,
    RestoreBackup,
    SetBackupTarget,
    TargetName,
)
from rivetr.projections.databases import BackupView, RestoreView, TargetView
from rivetr.service.commands.backups import BackupService, RestorePlan
from rivetr.service.queries.databases import DatabaseReads
from rivetr.web.api.bodies import body_of

TargetSettings = body_of(SetBackupTarget, "TargetSettings", "team", "name")


class RestoreAsked(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    into: ResourceId | None = None  # None: the backup's own database (backed up first)
    dry_run: bool = False


class BackupsController(Controller):
    path = "/"
    tags = ["backups"]

    @get("/backups/{backup_id:str}")
    async def get_backup(
        self,
        backup_id: FromPath[ResourceId],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> BackupView:
        """Its status (`requested`, `stored`, `read_back`, `verified` or `failed`), the step it
        failed at and why, its size, sha256 and the counts the source answered."""
        return await database_reads.backup(actor, backup_id)

    @delete("/backups/{backup_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_backup(
        self,
        backup_id: FromPath[ResourceId],
        backups: NamedDependency[BackupService],
        actor: NamedDependency[Actor],
    ) -> None:
        await backups.delete_backup(actor, DeleteBackup(backup_id=backup_id))

    @post("/backups/{backup_id:str}/restore", status_code=HTTP_202_ACCEPTED)
    async def restore_backup(
        self,
        backup_id: FromPath[ResourceId],
        data: JSONBody[RestoreAsked],
        backups: NamedDependency[BackupService],
        actor: NamedDependency[Actor],
    ) -> Response[RestorePlan]:
        """Restore into its own database (its live data backed up first) or `into` another of
        its kind. A dry run answers the plan (200) and changes nothing; else the plan with
        the restore's id (202): follow it at /restores/{restore_id}. A backup not stored and
        read back whole is refused (422) with the reason; a dry run is a read (404 to one who
        does not read the backup), a restore takes managing apps there (403)."""
        plan = await backups.restore(
            actor, RestoreBackup(backup_id=backup_id, into=data.into), data.dry_run
        )
        return Response(plan, status_code=HTTP_200_OK if data.dry_run else HTTP_202_ACCEPTED)

    @get("/restores/{restore_id:str}")
    async def get_restore(
        self,
        restore_id: FromPath[ResourceId],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> RestoreView:
        """Its status (`requested`, `completed` or `failed`), why it failed, and the counts
        the restored data answered."""
        return await database_reads.restore(actor, restore_id)

    @get("/teams/{team:str}/backup-targets")
    async def list_targets(
        self,
        team: FromPath[TeamSlug],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> list[TargetView]:
        """The team's targets, `local` first; never a secret (whether backups to one are
        encrypted is said, not with what)."""
        return await database_reads.targets(actor, team)

    @put("/teams/{team:str}/backup-targets/{target:str}")
    async def set_target(
        self,
        team: FromPath[TeamSlug],
        target: FromPath[TargetName],
        data: JSONBody[TargetSettings],  # type: ignore[valid-type]  # a defstruct type
        backups: NamedDependency[BackupService],
        database_reads: NamedDependency[DatabaseReads],
        actor: NamedDependency[Actor],
    ) -> TargetView:
        """Add or replace a target: with `s3`, an S3-compatible bucket (its `secret_key` is
        sealed and never answered); without, a directory under the instance's backups."""
        fields: dict[str, Any] = msgspec.structs.asdict(data)
        await backups.set_target(actor, SetBackupTarget(team=team, name=target, **fields))
        return next(t for t in await database_reads.targets(actor, team) if t.name == target)

    @delete("/teams/{team:str}/backup-targets/{target:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove_target(
        self,
        team: FromPath[TeamSlug],
        target: FromPath[TargetName],
        backups: NamedDependency[BackupService],
        actor: NamedDependency[Actor],
    ) -> None:
        """Refused (422) while a database's schedule names it."""
        await backups.set_target(actor, RemoveBackupTarget(team=team, name=target))
