"""/api/v1/projects: a team's projects, their environments and what each holds; and moving an app
to another environment. Reads go through the project queries (which authorise them); every
change is a command through the project service."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor, Permission, home_team
from rivetr.domain.commands import (
    CreateEnvironment,
    CreateProject,
    DeleteEnvironment,
    DeleteProject,
    MoveApp,
    Slug,
    TeamSlug,
)
from rivetr.domain.settings import AppName
from rivetr.projections.apps import AppView
from rivetr.service.commands.projects import ProjectService
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.projects import ProjectDetail, ProjectReads


class NewProject(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    project: Slug
    team: TeamSlug | None = None  # the caller's own team when it acts in one only
    name: Annotated[str, msgspec.Meta(max_length=100)] = ""  # shown on pages; the slug if empty
    environments: list[Slug] = msgspec.field(default_factory=lambda: ["production"])


class NewEnvironment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    environment: Slug


class Destination(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    project: Slug
    environment: Slug


class ProjectsController(Controller):
    path = "/projects"
    tags = ["projects"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_project(
        self,
        data: JSONBody[NewProject],
        projects: NamedDependency[ProjectService],
        project_reads: NamedDependency[ProjectReads],
        actor: NamedDependency[Actor],
    ) -> Response[ProjectDetail]:
        """A project with `production` (and any other environments named), in `team`, or in
        the caller's own team when it acts in one only."""
        team = data.team or home_team(actor, Permission.MANAGE_APPS)
        command = CreateProject(
            team=team, project=data.project, name=data.name, environments=data.environments
        )
        await projects.run(actor, command)
        detail = await project_reads.readable(actor, team, data.project)
        where = f"/api/v1/projects/{team}/{data.project}"
        return Response(detail, status_code=HTTP_201_CREATED, headers={"Location": where})

    @get("/")
    async def list_projects(
        self, project_reads: NamedDependency[ProjectReads], actor: NamedDependency[Actor]
    ) -> list[ProjectDetail]:
        """Every project the caller reads, each environment with its resources and where
        their releases stand (as the apps list shows them)."""
        return await project_reads.visible(actor)

    @get("/{team:str}/{project:str}")
    async def get_project(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        project_reads: NamedDependency[ProjectReads],
        actor: NamedDependency[Actor],
    ) -> ProjectDetail:
        return await project_reads.readable(actor, team, project)

    @delete("/{team:str}/{project:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_project(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        projects: NamedDependency[ProjectService],
        actor: NamedDependency[Actor],
    ) -> None:
        """Refused (422) while it holds anything, naming what; the default project stays."""
        await projects.run(actor, DeleteProject(team=team, project=project))

    @post("/{team:str}/{project:str}/environments", status_code=HTTP_201_CREATED)
    async def create_environment(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        data: JSONBody[NewEnvironment],
        projects: NamedDependency[ProjectService],
        project_reads: NamedDependency[ProjectReads],
        actor: NamedDependency[Actor],
    ) -> ProjectDetail:
        command = CreateEnvironment(team=team, project=project, environment=data.environment)
        await projects.run(actor, command)
        return await project_reads.readable(actor, team, project)

    @delete("/{team:str}/{project:str}/environments/{environment:str}", status_code=204)
    async def delete_environment(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        environment: FromPath[Slug],
        projects: NamedDependency[ProjectService],
        actor: NamedDependency[Actor],
    ) -> None:
        """Refused (422) while it holds anything, naming what; production stays."""
        command = DeleteEnvironment(team=team, project=project, environment=environment)
        await projects.run(actor, command)


@post("/apps/{name:str}/move", tags=["apps"], status_code=HTTP_200_OK)
async def move_app(
    name: FromPath[AppName],
    data: JSONBody[Destination],
    projects: NamedDependency[ProjectService],
    app_reads: NamedDependency[AppReads],
    actor: NamedDependency[Actor],
) -> AppView:
    """Move the app to an environment of a project of its team: its name, domains, variables
    and releases stay; an unknown project or environment is 404."""
    command = MoveApp(name=name, project=data.project, environment=data.environment)
    await projects.move(actor, command)
    return await app_reads.readable(actor, name)
