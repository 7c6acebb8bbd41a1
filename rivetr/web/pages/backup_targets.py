"""A team's backup targets on the dashboard: the list (never a secret), a form to add or replace
one (a local directory, or an S3-compatible bucket whose secret key and passphrase are typed
once, sealed by the service and never shown again), and a button to remove one. Through the
backup service, as the API does."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.database_commands import RemoveBackupTarget, SetBackupTarget
from rivetr.domain.errors import NotFound
from rivetr.service.commands.backups import BackupService
from rivetr.service.queries.databases import DatabaseReads
from rivetr.web.pages.forms import Shown, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout

# the form's inputs for the S3 settings' fields (`s3.bucket` is the input `s3_bucket`)
S3_FIELDS = ("endpoint", "bucket", "region", "prefix", "access_key")


class TargetForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    s3_path_style: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    keep_last: str = ""
    keep_days: str = ""
    encryption_passphrase: str = ""


class BackupTargetPages(Controller):
    path = "/teams/{team:str}/backup-targets"
    include_in_schema = False

    @get("/")
    async def targets_page(
        self,
        team: FromPath[str],
        layout: NamedDependency[Layout],
        database_reads: NamedDependency[DatabaseReads],
    ) -> Template:
        return await _page(layout, database_reads, team)

    @post("/")
    async def set_target(
        self,
        team: FromPath[str],
        layout: NamedDependency[Layout],
        backups: NamedDependency[BackupService],
        database_reads: NamedDependency[DatabaseReads],
        data: URLEncodedBody[TargetForm],
    ) -> Response[Any]:
        # what was typed, shown again if refused: never a secret
        typed = {
            f: getattr(data, f)
            for f in TargetForm.__struct_fields__
            if f not in ("csrf_token", "s3_secret_key", "encryption_passphrase")
        }

        async def put() -> Response[Any]:
            await backups.set_target(layout.actor, _command(team, data))
            return Redirect(f"/teams/{team}/backup-targets")

        async def refused(exc: Exception) -> Response[Any]:
            problems, status = problems_of(exc), status_of(exc)
            shown = Shown(form="set", problems=problems, typed=typed, status=status)
            return await _page(layout, database_reads, team, shown)

        return await submitted(layout, data.csrf_token, put, refused)

    @post("/{name:str}/remove")
    async def remove_target(
        self,
        team: FromPath[str],
        name: FromPath[str],
        layout: NamedDependency[Layout],
        backups: NamedDependency[BackupService],
        database_reads: NamedDependency[DatabaseReads],
        data: URLEncodedBody[TargetForm],
    ) -> Response[Any]:
        async def remove() -> Response[Any]:
            command = msgspec.convert({"team": team, "name": name}, RemoveBackupTarget)
            await backups.set_target(layout.actor, command)
            return Redirect(f"/teams/{team}/backup-targets")

        async def refused(exc: Exception) -> Response[Any]:
            problems, status = problems_of(exc), status_of(exc)
            shown = Shown(form="remove", problems=problems, status=status)
            return await _page(layout, database_reads, team, shown)

        return await submitted(layout, data.csrf_token, remove, refused)


def _command(team: str, data: TargetForm) -> SetBackupTarget:
    fields: dict[str, Any] = {"team": team, "name": data.name.strip()}
    for name in ("keep_last", "keep_days"):
        value = getattr(data, name).strip()
        if value:
            fields[name] = int(value) if value.isdigit() else value  # msgspec says what is wrong
    if data.encryption_passphrase:
        fields["encryption_passphrase"] = data.encryption_passphrase
    if data.s3_endpoint.strip():
        s3: dict[str, Any] = {f: getattr(data, f"s3_{f}").strip() for f in S3_FIELDS}
        s3 |= {"path_style": bool(data.s3_path_style), "secret_key": data.s3_secret_key}
        fields["s3"] = s3
    return msgspec.convert(fields, SetBackupTarget)


async def _page(
    layout: Layout, database_reads: DatabaseReads, team: str, shown: Shown | None = None
) -> Template:
    shown = shown or Shown()
    try:
        targets = await database_reads.targets(layout.actor, team)
    except NotFound:
        return layout.error(f"No team {team!r}.")
    return layout.page(
        "backup_targets.html",
        shown.status,
        team=team,
        targets=targets,
        manages=layout.actor.can(Permission.MANAGE_APPS, team),
        shown=shown,
    )


__all__ = ["BackupTargetPages"]
