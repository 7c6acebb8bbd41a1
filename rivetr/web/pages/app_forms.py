"""The dashboard's forms about one app's settings: create it (the home page's form), change any
of its settings (`/apps/{name}/settings`, sending only what changed), move it to another
environment and delete it. Each goes through the application (or project) service, as the API
does; a refusal shows the form again as typed, with the problem beside its field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.config import Settings
from rivetr.domain.access import Permission
from rivetr.domain.commands import DeleteApp, MoveApp
from rivetr.domain.errors import InvalidCommand
from rivetr.projections.apps import AppView
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.projects import ProjectService
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.audit import AuditReads
from rivetr.service.queries.deployments import DeploymentReads
from rivetr.service.queries.projects import ProjectReads
from rivetr.web.pages.app_found import app_for, app_of_form
from rivetr.web.pages.app_settings_form import (
    AppSettingsForm,
    change_command,
    create_command,
    shown,
)
from rivetr.web.pages.apps import HomeReads
from rivetr.web.pages.forms import FieldProblems, attempted, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout


class DeleteForm(msgspec.Struct):
    csrf_token: str = ""
    confirm: str = ""  # the app's name, typed again


class MoveForm(msgspec.Struct):
    csrf_token: str = ""
    place: str = ""  # project/environment


class AppForms(Controller):
    path = "/"
    include_in_schema = False

    @post("/apps")
    async def create_app(
        self,
        layout: NamedDependency[Layout],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        deployment_reads: NamedDependency[DeploymentReads],
        audit_reads: NamedDependency[AuditReads],
        project_reads: NamedDependency[ProjectReads],
        settings: NamedDependency[Settings],
        data: URLEncodedBody[AppSettingsForm],
    ) -> Response[Any]:
        """The home page's form: an app with every setting the API takes."""

        async def create() -> Response[Any]:
            command = create_command(data)
            await apps.handle(layout.actor, command)
            return Redirect(f"/apps/{command.name}")

        async def refused(exc: Exception) -> Response[Any]:
            reads = HomeReads(app_reads, deployment_reads, audit_reads, project_reads, settings)
            context = await reads.context(layout.request, layout.actor, layout.engine)
            context.update(form=shown(None, data), problems=_problems(exc))
            return Template("index.html", context=context, status_code=status_of(exc))

        return await submitted(layout, data.csrf_token, create, refused)

    @get("/apps/{name:str}/settings")
    async def settings_page(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
        project_reads: NamedDependency[ProjectReads],
    ) -> Template:
        app = await app_for(layout, app_reads, name)
        if isinstance(app, Template):
            return app
        asked = layout.request.query_params
        page = SettingsPage(layout, project_reads, app)
        return await page.shown(shown(app), {}, changed="changed" in asked, moved="moved" in asked)

    @post("/apps/{name:str}/settings")
    async def change_settings(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        project_reads: NamedDependency[ProjectReads],
        data: URLEncodedBody[AppSettingsForm],
    ) -> Response[Any]:
        """Change what the form changes, nothing else. Who may not even edit is refused
        first (the service then checks what this very change needs)."""
        app = await app_of_form(layout, data.csrf_token, app_reads, name, Permission.EDIT_APPS)
        if not isinstance(app, AppView):
            return app

        async def change() -> Response[Any]:
            await apps.handle(layout.actor, change_command(app, data))
            return Redirect(f"/apps/{name}/settings?changed")

        async def refused(exc: Exception) -> Response[Any]:
            page = SettingsPage(layout, project_reads, app)
            return await page.shown(shown(app, data), _problems(exc), status_of(exc))

        return await attempted(change, refused)

    @post("/apps/{name:str}/move")
    async def move_app(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        projects: NamedDependency[ProjectService],
        app_reads: NamedDependency[AppReads],
        project_reads: NamedDependency[ProjectReads],
        data: URLEncodedBody[MoveForm],
    ) -> Response[Any]:
        """The settings page's Move form: to another environment of the app's team."""
        app = await app_of_form(layout, data.csrf_token, app_reads, name, Permission.MANAGE_APPS)
        if not isinstance(app, AppView):
            return app

        async def move() -> Response[Any]:
            project, _, environment = data.place.partition("/")
            fields = {"name": app.name, "project": project, "environment": environment}
            await projects.move(layout.actor, msgspec.convert(fields, MoveApp))
            return Redirect(f"/apps/{name}/settings?moved")

        async def refused(exc: Exception) -> Response[Any]:
            problems = {"place": " ".join(problems_of(exc).values())}
            page = SettingsPage(layout, project_reads, app)
            return await page.shown(shown(app), problems, status_of(exc))

        return await attempted(move, refused)

    @post("/apps/{name:str}/delete")
    async def delete_app(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        project_reads: NamedDependency[ProjectReads],
        data: URLEncodedBody[DeleteForm],
    ) -> Response[Any]:
        """The danger zone: only when the app's name is typed again."""
        app = await app_of_form(layout, data.csrf_token, app_reads, name, Permission.MANAGE_APPS)
        if not isinstance(app, AppView):
            return app

        async def delete() -> Response[Any]:
            if data.confirm.strip() != app.name:
                raise InvalidCommand(
                    f"type {app.name} to confirm: nothing was deleted", field="confirm"
                )
            await apps.handle(layout.actor, DeleteApp(name=app.name))
            return Redirect(f"/?deleted={app.name}")

        async def refused(exc: Exception) -> Response[Any]:
            page = SettingsPage(layout, project_reads, app)
            return await page.shown(shown(app), {"confirm": str(exc)}, status_of(exc))

        return await attempted(delete, refused)


def _problems(exc: Exception) -> FieldProblems:
    # a credential or list refused by msgspec is named by the command's field, as the form's
    return problems_of(exc, {"build.build_args": "build_args"})


@dataclass(frozen=True)
class SettingsPage:
    """An app's settings page: its settings form, Move and the danger zone."""

    layout: Layout
    project_reads: ProjectReads
    app: AppView

    async def shown(
        self,
        values: dict[str, str],
        problems: FieldProblems,
        status: int = 200,
        *,
        changed: bool = False,
        moved: bool = False,
    ) -> Template:
        app = self.app
        projects = await self.project_reads.creatable_in(self.layout.actor, app.team)
        places = [f"{p.project}/{e}" for p in projects for e in p.environments]
        return self.layout.page(
            "app_settings.html",
            status,
            app=app,
            form=values,
            problems=problems,
            changed=changed,
            moved=moved,
            destinations=[(place, place.replace("/", " / ")) for place in places],
        )
