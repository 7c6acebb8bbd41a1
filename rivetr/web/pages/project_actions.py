"""The forms of a project's page: add an environment, delete one (only when it holds nothing),
and delete the project (its slug typed to confirm); and the app settings page's form that
moves an app to another environment. Each carries the page's CSRF token and goes through the
project service, so the same authorisation and events as the API; a refusal shows the page
again with the problem beside its field."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from rivetr.domain.commands import CreateEnvironment, DeleteEnvironment, DeleteProject
from rivetr.domain.errors import InvalidCommand
from rivetr.service.commands.projects import ProjectService
from rivetr.service.queries.projects import ProjectReads
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.projects import ProjectForm, ProjectPage


def provide_project_page(
    layout: NamedDependency[Layout],
    project_reads: NamedDependency[ProjectReads],
    team: FromPath[str],
    project: FromPath[str],
) -> ProjectPage:
    return ProjectPage(layout, project_reads, team, project)


class ProjectActions(Controller):
    path = "/projects/{team:str}/{project:str}"
    include_in_schema = False
    dependencies = {"page": Provide(provide_project_page, sync_to_thread=False)}

    @post("/environments")
    async def create_environment(
        self,
        projects: NamedDependency[ProjectService],
        page: NamedDependency[ProjectPage],
        data: URLEncodedBody[ProjectForm],
    ) -> Response[Any]:
        typed = {"environment": data.environment.strip()}

        async def create() -> Response[Any]:
            fields = {"team": page.team, "project": page.project, **typed}
            await projects.run(page.layout.actor, msgspec.convert(fields, CreateEnvironment))
            return Redirect(f"/projects/{page.team}/{page.project}")

        return await page.submitted(data.csrf_token, create, "environment", typed)

    @post("/environments/{environment:str}/delete")
    async def delete_environment(
        self,
        environment: FromPath[str],
        projects: NamedDependency[ProjectService],
        page: NamedDependency[ProjectPage],
        data: URLEncodedBody[ProjectForm],
    ) -> Response[Any]:
        """A button beside the environment: what it still holds is named if it is refused."""

        async def delete() -> Response[Any]:
            fields = {"team": page.team, "project": page.project, "environment": environment}
            await projects.run(page.layout.actor, msgspec.convert(fields, DeleteEnvironment))
            return Redirect(f"/projects/{page.team}/{page.project}")

        return await page.submitted(data.csrf_token, delete, f"env-{environment}", {})

    @post("/delete")
    async def delete_project(
        self,
        projects: NamedDependency[ProjectService],
        page: NamedDependency[ProjectPage],
        data: URLEncodedBody[ProjectForm],
    ) -> Response[Any]:
        """Deleting needs the project's slug typed again: a slip of the mouse deletes nothing."""
        typed = {"confirm": data.confirm.strip()}

        async def delete() -> Response[Any]:
            if typed["confirm"] != page.project:
                raise InvalidCommand(
                    f"type {page.project} to confirm: nothing was deleted", field="confirm"
                )
            fields = {"team": page.team, "project": page.project}
            await projects.run(page.layout.actor, msgspec.convert(fields, DeleteProject))
            return Redirect("/projects")

        return await page.submitted(data.csrf_token, delete, "delete", typed)
