"""The dashboard's compose stacks: every stack one reads with where its releases stand, and the
form that makes one (its source, routes and variables) in an environment. A stack's own pages
are in `stack_page.py`, its forms in `stack_settings.py` and `stack_deploys.py`; all go
through the stack services, as the API does."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.stack_commands import CreateStack
from rivetr.service.commands.stacks import StackService
from rivetr.service.queries.projects import ProjectReads
from rivetr.service.queries.stacks import StackReads
from rivetr.web.pages.forms import Shown, onto, place_choices, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.stack_form import ROUTES_HINT, StackForm, create_fields, shown


class StackPages(Controller):
    path = "/stacks"
    include_in_schema = False

    @get("/")
    async def stacks_page(
        self,
        layout: NamedDependency[Layout],
        stack_reads: NamedDependency[StackReads],
        project_reads: NamedDependency[ProjectReads],
    ) -> Template:
        return layout.page(
            "stacks.html",
            stacks=await stack_reads.every(layout.actor),
            creates=bool(await place_choices(layout.actor, project_reads)),
        )

    @get("/new")
    async def new_stack_page(
        self,
        layout: NamedDependency[Layout],
        project_reads: NamedDependency[ProjectReads],
        team: FromQuery[str | None] = None,
        project: FromQuery[str | None] = None,
        environment: FromQuery[str | None] = None,
    ) -> Template:
        """The form, in the environment the link came from (a project page's) if given."""
        chosen = "/".join([team, project, environment]) if team and project and environment else ""
        return await _new_page(layout, project_reads, Shown(typed={"place": chosen}))

    @post("/")
    async def create_stack(
        self,
        layout: NamedDependency[Layout],
        stacks: NamedDependency[StackService],
        project_reads: NamedDependency[ProjectReads],
        data: URLEncodedBody[StackForm],
    ) -> Response[Any]:
        async def create() -> Response[Any]:
            command = msgspec.convert(create_fields(data), CreateStack)
            stack_id, _ = await stacks.create(layout.actor, command)
            return Redirect(f"/stacks/{stack_id}")

        async def refused(exc: Exception) -> Response[Any]:
            where = dict.fromkeys(("team", "project", "environment"), "place")
            problems = onto(problems_of(exc, where), msgspec.structs.asdict(data))
            typed = shown(None, data)  # as typed, but never a variable's value
            return await _new_page(
                layout, project_reads, Shown(problems=problems, typed=typed, status=status_of(exc))
            )

        return await submitted(layout, data.csrf_token, create, refused)


async def _new_page(layout: Layout, project_reads: ProjectReads, shown: Shown) -> Template:
    return layout.page(
        "stack_new.html",
        shown.status,
        place_choices=await place_choices(layout.actor, project_reads),
        problems=shown.problems,
        typed=shown.typed,
        routes_hint=ROUTES_HINT,
    )


__all__ = ["StackPages"]
