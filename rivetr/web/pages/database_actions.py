"""The buttons and forms of a database's page: back up now, restore (a dry run shows the plan
first), start, stop, restart, rotate the password (the apps to redeploy are said), set the
backup schedule, and delete (the volume kept unless unticked, a last backup offered first).
Each carries the page's CSRF token and goes through the services, so the same authorisation
and events as the API; a refusal shows the page again with the problem beside its form."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from rivetr.domain.database_commands import (
    BackUpDatabase,
    DeleteDatabase,
    RequestDatabaseAction,
    RestoreBackup,
    RotateDatabasePassword,
    SetBackupSchedules,
)
from rivetr.domain.errors import InvalidCommand
from rivetr.service.commands.backups import BackupService
from rivetr.service.commands.databases import DatabaseService
from rivetr.service.queries.databases import DatabaseReads
from rivetr.web.pages.databases import DatabaseForm, DatabasePage
from rivetr.web.pages.guard import Layout


def provide_database_page(
    layout: NamedDependency[Layout],
    database_reads: NamedDependency[DatabaseReads],
    database_id: FromPath[str],
) -> DatabasePage:
    return DatabasePage(layout, database_reads, database_id)


class DatabaseActions(Controller):
    path = "/databases/{database_id:str}"
    include_in_schema = False
    dependencies = {"page": Provide(provide_database_page, sync_to_thread=False)}

    @post("/backup")
    async def back_up(
        self,
        backups: NamedDependency[BackupService],
        page: NamedDependency[DatabasePage],
        data: URLEncodedBody[DatabaseForm],
    ) -> Response[Any]:
        async def back_up() -> Response[Any]:
            fields = {"database_id": page.database_id, "target": data.target or "local"}
            await backups.back_up(page.layout.actor, msgspec.convert(fields, BackUpDatabase))
            return Redirect(f"/databases/{page.database_id}#backups")

        return await page.submitted(data.csrf_token, back_up, "backup", {"target": data.target})

    @post("/restore")
    async def restore(
        self,
        backups: NamedDependency[BackupService],
        page: NamedDependency[DatabasePage],
        data: URLEncodedBody[DatabaseForm],
    ) -> Response[Any]:
        """With "dry run" ticked, the page again with the plan; else the restore is asked."""
        typed = {"backup_id": data.backup_id, "into": data.into.strip()}

        async def restore() -> Response[Any]:
            fields = {"backup_id": data.backup_id, "into": typed["into"] or None}
            command = msgspec.convert(fields, RestoreBackup)
            plan = await backups.restore(page.layout.actor, command, bool(data.dry_run))
            page.plan = plan
            if data.dry_run:
                return await page.shown()
            return Redirect(f"/databases/{page.database_id}#restores")

        return await page.submitted(data.csrf_token, restore, "restore", typed)

    @post("/{action:str}")
    async def act(
        self,
        action: FromPath[str],
        databases: NamedDependency[DatabaseService],
        backups: NamedDependency[BackupService],
        page: NamedDependency[DatabasePage],
        data: URLEncodedBody[DatabaseForm],
    ) -> Response[Any]:
        """Start, stop, restart, rotate-password, schedule or delete."""
        actor = page.layout.actor

        async def act() -> Response[Any]:
            match action:
                case "start" | "stop" | "restart":
                    fields = {"database_id": page.database_id, "action": action}
                    command = msgspec.convert(fields, RequestDatabaseAction)
                    await databases.run(actor, command)
                case "rotate-password":
                    await databases.run(actor, _rotation(page.database_id))
                    view = await page.database_reads.one(actor, page.database_id)
                    apps = await page.database_reads.apps_using(view)
                    page.notes.append(
                        "A new password was asked for. Redeploy once it is set: "
                        + (", ".join(apps) or "no app's live release uses this database")
                    )
                    return await page.shown()
                case "schedule":
                    await databases.run(actor, _schedules(page.database_id, data))
                case "delete":
                    return await _delete(databases, backups, page, data)
                case _:
                    raise InvalidCommand(f"a database cannot {action!r}")
            return Redirect(f"/databases/{page.database_id}")

        typed = {"cron": data.cron, "timezone": data.timezone, "target": data.target}
        return await page.submitted(data.csrf_token, act, action, typed)


def _rotation(database_id: str) -> RotateDatabasePassword:
    return msgspec.convert({"database_id": database_id}, RotateDatabasePassword)


def _schedules(database_id: str, data: DatabaseForm) -> SetBackupSchedules:
    """One schedule (the form's), or none when the cron is left empty."""
    schedules = []
    if data.cron.strip():
        timezone = data.timezone.strip() or "UTC"
        schedules.append({"cron": data.cron.strip(), "timezone": timezone, "target": data.target})
    fields = {"database_id": database_id, "schedules": schedules}
    return msgspec.convert(fields, SetBackupSchedules)


async def _delete(
    databases: DatabaseService, backups: BackupService, page: DatabasePage, data: DatabaseForm
) -> Response[Any]:
    """With "take a last backup first" ticked, only that backup is asked: the page says to
    delete once it is verified (deleting now would stop the server it is taken from)."""
    actor = page.layout.actor
    if data.last_backup:
        fields = {"database_id": page.database_id}
        backup_id, _ = await backups.back_up(actor, msgspec.convert(fields, BackUpDatabase))
        page.notes.append(
            f"A last backup ({backup_id}) was asked for; nothing was deleted. Delete the"
            " database once the backup shows verified below."
        )
        return await page.shown()
    keep = bool(data.keep_volume)
    await databases.run(actor, DeleteDatabase(database_id=page.database_id, keep_volume=keep))
    return Redirect("/databases")


__all__ = ["DatabaseActions"]
