"""The page that clones an environment: what it would copy, the form with the patterns that
name and reach the copies, and what it made. It goes through the clone service (so the same
authorisation and events as the API); a refusal shows the form again, as typed, with every
clash named."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody

from rivetr.domain.commands import CloneEnvironment
from rivetr.domain.errors import NotFound
from rivetr.service.commands.cloning import Cloned, CloneService
from rivetr.web.pages.forms import FieldProblems, attempted, problems_of, stale, status_of
from rivetr.web.pages.guard import Layout


class CloneForm(msgspec.Struct):
    csrf_token: str = ""
    to_environment: str = ""
    to_project: str = ""
    name_pattern: str = "{name}-{env}"
    domain_pattern: str = ""
    create_environment: str = ""  # "on" when ticked


# a refusal naming the target by the command's field is shown beside the form's
_FIELDS = {"environment": "to_environment", "project": "to_project"}


class EnvironmentClonePage(Controller):
    path = "/projects/{team:str}/{project:str}/environments/{environment:str}/clone"
    include_in_schema = False

    @get("/")
    async def clone_form(
        self,
        team: FromPath[str],
        project: FromPath[str],
        environment: FromPath[str],
        layout: NamedDependency[Layout],
        clones: NamedDependency[CloneService],
    ) -> Response[Any]:
        form = CloneForm(to_environment="staging", create_environment="on")
        return await _page(layout, clones, (team, project, environment), form)

    @post("/")
    async def clone(
        self,
        team: FromPath[str],
        project: FromPath[str],
        environment: FromPath[str],
        layout: NamedDependency[Layout],
        clones: NamedDependency[CloneService],
        data: URLEncodedBody[CloneForm],
    ) -> Response[Any]:
        place = (team, project, environment)
        expired = stale(layout.request, data.csrf_token, layout.engine, layout.actor)
        if expired is not None:
            return expired

        async def made() -> Response[Any]:
            fields = {
                "team": team,
                "project": project,
                "environment": environment,
                "to_environment": data.to_environment.strip(),
                "to_project": data.to_project.strip() or None,
                "name_pattern": data.name_pattern.strip(),
                "domain_pattern": data.domain_pattern.strip() or None,
                "create_environment": data.create_environment == "on",
            }
            command = msgspec.convert(fields, CloneEnvironment)
            cloned = await clones.clone(layout.actor, command)
            return await _page(layout, clones, place, data, cloned=cloned, status=201)

        async def refused(exc: Exception) -> Response[Any]:
            problems = problems_of(exc, _FIELDS)
            return await _page(
                layout, clones, place, data, problems=problems, status=status_of(exc)
            )

        return await attempted(made, refused)


async def _page(
    layout: Layout,
    clones: CloneService,
    place: tuple[str, str, str],
    form: CloneForm,
    *,
    cloned: Cloned | None = None,
    problems: FieldProblems | None = None,
    status: int = 200,
) -> Response[Any]:
    team, project, environment = place
    try:
        apps = await clones.listed(layout.actor, team, project, environment)
    except NotFound as exc:
        return layout.error(str(exc))
    return layout.page(
        "environment_clone.html",
        status,
        team=team,
        project=project,
        environment=environment,
        apps=apps,
        form=form,
        cloned=cloned,
        problems=problems or {},
    )
