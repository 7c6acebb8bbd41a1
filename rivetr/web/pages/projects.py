"""The dashboard's projects: every project one reads, by team, with a form to create one; and a
project's page: its environments, each with its apps and where their releases stand. The
changes to a project are forms in `project_actions.py`; both go through the project service,
as the API does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.commands import CreateProject, Slug, TeamSlug
from rivetr.domain.events import EVENT_TYPES
from rivetr.service.commands.projects import ProjectService
from rivetr.service.queries.projects import ProjectReads
from rivetr.service.queries.refusals import Absent
from rivetr.web.pages.forms import Act, FieldProblems, Shown, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout


class ProjectForm(msgspec.Struct):
    csrf_token: str = ""
    team: str = ""
    project: str = ""
    name: str = ""
    environment: str = ""
    confirm: str = ""  # the project's slug, typed again to delete it


class ProjectPages(Controller):
    path = "/projects"
    include_in_schema = False

    @get("/")
    async def projects_page(
        self, layout: NamedDependency[Layout], project_reads: NamedDependency[ProjectReads]
    ) -> Template:
        return await _projects_page(layout, project_reads)

    @post("/")
    async def create_project(
        self,
        layout: NamedDependency[Layout],
        projects: NamedDependency[ProjectService],
        project_reads: NamedDependency[ProjectReads],
        data: URLEncodedBody[ProjectForm],
    ) -> Response[Any]:
        typed = {"team": data.team, "project": data.project.strip(), "name": data.name.strip()}

        async def create() -> Response[Any]:
            asked = msgspec.convert(typed, CreateProject)
            await projects.run(layout.actor, asked)
            return Redirect(f"/projects/{asked.team}/{asked.project}")

        async def refused(exc: Exception) -> Response[Any]:
            problems, status = problems_of(exc), status_of(exc)
            return await _projects_page(layout, project_reads, problems, typed, status)

        return await submitted(layout, data.csrf_token, create, refused)

    @get("/{team:str}/{project:str}")
    async def project_page(
        self,
        team: FromPath[str],
        project: FromPath[str],
        layout: NamedDependency[Layout],
        project_reads: NamedDependency[ProjectReads],
    ) -> Template:
        return await ProjectPage(layout, project_reads, team, project).shown()


async def _projects_page(
    layout: Layout,
    project_reads: ProjectReads,
    problems: FieldProblems | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    actor = layout.actor
    teams = [t for t in sorted(actor.teams) if actor.can(Permission.MANAGE_APPS, t)]
    return layout.page(
        "projects.html",
        status,
        projects=await project_reads.visible(actor),
        teams=[(t, t) for t in teams],
        problems=problems or {},
        typed=typed or {},
    )


@dataclass(frozen=True)
class ProjectPage:
    """A project's page, as it is or with a refused form beside its fields."""

    layout: Layout
    project_reads: ProjectReads
    team: str
    project: str

    async def shown(self, shown: Shown | None = None) -> Template:
        shown = shown or Shown()
        layout = self.layout
        try:
            team, project = (
                msgspec.convert(self.team, TeamSlug),
                msgspec.convert(self.project, Slug),
            )
            detail = await self.project_reads.readable(layout.actor, team, project)
        except (msgspec.ValidationError, Absent):
            return layout.error(f"No project {self.project!r} in team {self.team!r}.")
        return layout.page(
            "project.html",
            shown.status,
            detail=detail,
            manages=layout.actor.can(Permission.MANAGE_APPS, team),
            shown=shown,
            live_url=f"/api/v1/events/stream?project={team}/{project}",
            event_types=sorted(EVENT_TYPES),
        )

    async def submitted(
        self, presented: str, act: Act, form: str, typed: dict[str, str]
    ) -> Response[Any]:
        """What `act` answers, or the page again with the refusal beside `form`'s fields."""

        async def refused(exc: Exception) -> Response[Any]:
            problems, status = problems_of(exc), status_of(exc)
            return await self.shown(Shown(form=form, problems=problems, typed=typed, status=status))

        return await submitted(self.layout, presented, act, refused)


__all__ = ["ProjectForm", "ProjectPage", "ProjectPages"]
