"""The dashboard's databases: every database one reads with its last verified backup and its
age, and a form to create one; and a database's page: its connection, status, backups (each
step's outcome, a failure said as one), restores and schedules. The buttons and forms of that
page are in `database_actions.py`; both go through the services, as the API does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.database_commands import CreateDatabase, ResourceId
from rivetr.domain.databases import DEFAULT_VERSIONS
from rivetr.domain.errors import NotFound
from rivetr.service.commands.backups import RestorePlan
from rivetr.service.commands.databases import DatabaseService
from rivetr.service.queries.databases import DatabaseReads, connection_of
from rivetr.service.queries.projects import ProjectReads
from rivetr.web.pages.forms import Act, Shown, place_choices, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout

KINDS = [(kind, kind) for kind in DEFAULT_VERSIONS]


class DatabaseForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    kind: str = "postgres"
    place: str = ""  # team/project/environment
    version: str = ""
    public_port: str = ""
    target: str = "local"
    backup_id: str = ""
    into: str = ""
    dry_run: str = ""
    cron: str = ""
    timezone: str = "UTC"
    keep_volume: str = ""
    last_backup: str = ""


class DatabasePages(Controller):
    path = "/databases"
    include_in_schema = False

    @get("/")
    async def databases_page(
        self,
        layout: NamedDependency[Layout],
        database_reads: NamedDependency[DatabaseReads],
        project_reads: NamedDependency[ProjectReads],
        team: FromQuery[str | None] = None,
        project: FromQuery[str | None] = None,
        environment: FromQuery[str | None] = None,
    ) -> Template:
        chosen = "/".join([team, project, environment]) if team and project and environment else ""
        return await _databases_page(layout, database_reads, project_reads, {"place": chosen})

    @post("/")
    async def create_database(
        self,
        layout: NamedDependency[Layout],
        databases: NamedDependency[DatabaseService],
        database_reads: NamedDependency[DatabaseReads],
        project_reads: NamedDependency[ProjectReads],
        data: URLEncodedBody[DatabaseForm],
    ) -> Response[Any]:
        typed = {
            "name": data.name.strip(),
            "kind": data.kind,
            "place": data.place,
            "version": data.version.strip(),
            "public_port": data.public_port.strip(),
        }

        async def create() -> Response[Any]:
            team, project, environment = [*data.place.split("/"), "", "", ""][:3]
            fields: dict[str, Any] = {
                "name": typed["name"],
                "kind": data.kind,
                "team": team or None,
                "project": project or "default",
                "environment": environment or "production",
                "version": typed["version"] or None,
                "public_port": int(typed["public_port"]) if typed["public_port"] else None,
            }
            database_id, _ = await databases.create(
                layout.actor, msgspec.convert(fields, CreateDatabase)
            )
            return Redirect(f"/databases/{database_id}")

        async def refused(exc: Exception) -> Response[Any]:
            problems, status = problems_of(exc), status_of(exc)
            shown = Shown(form="create", problems=problems, typed=typed, status=status)
            return await _databases_page(layout, database_reads, project_reads, typed, shown)

        return await submitted(layout, data.csrf_token, _parsed(create), refused)

    @get("/{database_id:str}")
    async def database_page(
        self,
        database_id: FromPath[str],
        layout: NamedDependency[Layout],
        database_reads: NamedDependency[DatabaseReads],
    ) -> Template:
        return await DatabasePage(layout, database_reads, database_id).shown()


def _parsed(act: Act) -> Act:
    """`act`, with a number that is not one refused as msgspec would refuse it."""

    async def parsed() -> Response[Any]:
        try:
            return await act()
        except ValueError as exc:
            if isinstance(exc, msgspec.ValidationError):
                raise
            raise msgspec.ValidationError("Expected a whole number - at `$.public_port`") from None

    return parsed


async def _databases_page(
    layout: Layout,
    database_reads: DatabaseReads,
    project_reads: ProjectReads,
    typed: dict[str, str],
    shown: Shown | None = None,
) -> Template:
    actor = layout.actor
    shown = shown or Shown()
    return layout.page(
        "databases.html",
        shown.status,
        databases=await database_reads.every(actor),
        ages=age,
        place_choices=await place_choices(actor, project_reads),
        kinds=KINDS,
        problems=shown.problems,
        typed={**typed, **shown.typed},
    )


def age(at: str | None, now: datetime | None = None) -> str:
    """How long ago `at` was, in words ("3 h ago"); "never" for None."""
    if not at:
        return "never"
    seconds = ((now or datetime.now(UTC)) - datetime.fromisoformat(at)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


@dataclass
class DatabasePage:
    """A database's page, as it is, or with a form's answer (a refusal beside its fields, a
    dry run's plan, the apps to redeploy)."""

    layout: Layout
    database_reads: DatabaseReads
    database_id: str
    plan: RestorePlan | None = None
    notes: list[str] = field(default_factory=list)

    async def shown(self, shown: Shown | None = None) -> Template:
        shown = shown or Shown()
        layout, reads = self.layout, self.database_reads
        try:
            database_id = msgspec.convert(self.database_id, ResourceId)
            view = await reads.one(layout.actor, database_id)
        except (msgspec.ValidationError, NotFound):
            return layout.error(f"No database {self.database_id!r}.")
        backups = await reads.backups(layout.actor, database_id)
        actor = layout.actor
        targets = await reads.targets(actor, view.team) if actor.may_read(view.team) else []
        usable = [b for b in backups if b.status in ("read_back", "verified")]
        return layout.page(
            "database.html",
            shown.status,
            db=view,
            connection=connection_of(view),
            backups=backups,
            usable=usable,
            backup_choices=[
                (b.backup_id, f"{b.backup_id} ({b.status}, {age(b.requested_at)})") for b in usable
            ],
            restores=await reads.restores(layout.actor, database_id),
            target_choices=[(t.name, t.name) for t in targets] or [("local", "local")],
            last_verified_age=age(view.last_verified_at),
            ages=age,
            deploys=actor.can(Permission.DEPLOY, view.team, view.project),
            edits=actor.can(Permission.EDIT_APPS, view.team, view.project),
            manages=actor.can(Permission.MANAGE_APPS, view.team, view.project),
            shown=shown,
            plan=self.plan,
            notes=self.notes,
        )

    async def submitted(
        self, presented: str, act: Act, form: str, typed: dict[str, str] | None = None
    ) -> Response[Any]:
        """What `act` answers, or the page again with the refusal beside `form`'s fields."""

        async def refused(exc: Exception) -> Response[Any]:
            problems, status = problems_of(exc), status_of(exc)
            shown = Shown(form=form, problems=problems, typed=typed or {}, status=status)
            return await self.shown(shown)

        return await submitted(self.layout, presented, act, refused)


__all__ = ["DatabaseForm", "DatabasePage", "DatabasePages", "age"]
