"""The dashboard's shared variables of a team, a project or an environment: names listed, values
write-only, set or replace one, remove one, or paste a `.env` file; after a change, the apps
that take it up at their next deployment. Each change goes through the variable service, as
the API's PATCH does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.commands import ChangeProjectVariables, ChangeTeamVariables
from rivetr.service.commands.variables import VariableService
from rivetr.service.queries.refusals import Absent
from rivetr.service.queries.variables import SharedVariables, VariableReads
from rivetr.web.pages.env_text import one_variable, pasted
from rivetr.web.pages.forms import FieldProblems, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout

_LISTED = re.compile(r"[A-Za-z0-9_, -]{0,4096}")  # the redirect's names, nothing else
_TEAM = "/teams/{team:str}/variables"
_PROJECT = "/projects/{team:str}/{project:str}/variables"
_ENVIRONMENT = "/projects/{team:str}/{project:str}/environments/{environment:str}/variables"
PATHS = [_TEAM, _PROJECT, _ENVIRONMENT]


class SharedVariableForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""  # set one / remove one
    value: str = ""  # write-only
    text: str = ""  # a pasted .env file; write-only
    # set one: its scopes (checkboxes: absent when unticked) and its preview-only value
    build: str = ""
    runtime: str = ""
    preview: str = ""
    preview_value: str = ""  # write-only; empty: previews take the value itself
    scoped: str = ""  # the form had the scopes' checkboxes (without it: the value alone)


@dataclass(frozen=True)
class Place:
    """Whose shared variables a page shows: a team's, a project's or an environment's."""

    team: str
    project: str | None = None
    environment: str | None = None

    @property
    def url(self) -> str:
        if self.project is None:
            return f"/teams/{self.team}/variables"
        if self.environment is None:
            return f"/projects/{self.team}/{self.project}/variables"
        return f"/projects/{self.team}/{self.project}/environments/{self.environment}/variables"

    @property
    def level(self) -> str:
        return (
            "team"
            if self.project is None
            else "project"
            if self.environment is None
            else "environment"
        )

    @property
    def title(self) -> str:
        if self.project is None:
            return f"team {self.team}"
        if self.environment is None:
            return f"project {self.project} ({self.team})"
        return f"environment {self.environment} of project {self.project} ({self.team})"

    def command(self, fields: dict[str, Any]) -> ChangeTeamVariables | ChangeProjectVariables:
        body: dict[str, Any] = {"team": self.team, **fields}
        if self.project is None:
            return msgspec.convert(body, ChangeTeamVariables)
        body |= {"project": self.project, "environment": self.environment}
        return msgspec.convert(body, ChangeProjectVariables)


class SharedVariablesPages(Controller):
    path = "/"
    include_in_schema = False

    @get(PATHS)
    async def page(
        self,
        layout: NamedDependency[Layout],
        variable_reads: NamedDependency[VariableReads],
    ) -> Template:
        where = _place(layout)
        shared = await _shared(layout, variable_reads, where)
        if isinstance(shared, Template):
            return shared
        query = layout.request.query_params
        done, apps = query.get("done", ""), query.get("apps", "")
        if not _LISTED.fullmatch(done) or not _LISTED.fullmatch(apps):
            done = apps = ""
        return _page(layout, where, shared, {}, {}, done=done, apps=apps)

    @post(PATHS)
    async def set_one(
        self,
        layout: NamedDependency[Layout],
        variables: NamedDependency[VariableService],
        variable_reads: NamedDependency[VariableReads],
        data: URLEncodedBody[SharedVariableForm],
    ) -> Response[Any]:
        """Set one variable, or replace its value, with its scopes and preview value."""

        def changes() -> dict[str, Any]:
            return one_variable(data, "variables", "scopes", "preview")

        where = _place(layout)
        return await _changed(layout, variables, variable_reads, where, data, changes)

    @post([f"{path}/remove" for path in PATHS])
    async def remove_one(
        self,
        layout: NamedDependency[Layout],
        variables: NamedDependency[VariableService],
        variable_reads: NamedDependency[VariableReads],
        data: URLEncodedBody[SharedVariableForm],
    ) -> Response[Any]:
        def changes() -> dict[str, Any]:
            return {"variables": {data.name.strip(): None}}

        where = _place(layout)
        return await _changed(layout, variables, variable_reads, where, data, changes)

    @post([f"{path}/paste" for path in PATHS])
    async def paste(
        self,
        layout: NamedDependency[Layout],
        variables: NamedDependency[VariableService],
        variable_reads: NamedDependency[VariableReads],
        data: URLEncodedBody[SharedVariableForm],
    ) -> Response[Any]:
        """Set every variable of a pasted `.env` file; the others stay as they are."""

        def changes() -> dict[str, Any]:
            return {"variables": pasted(data.text)}

        where = _place(layout)
        return await _changed(layout, variables, variable_reads, where, data, changes)


def _place(layout: Layout) -> Place:
    """The place named by the path: only the path, never a query string, says which."""
    params = layout.request.path_params
    return Place(params["team"], params.get("project"), params.get("environment"))


async def _shared(layout: Layout, reads: VariableReads, where: Place) -> SharedVariables | Template:
    try:
        return await reads.names(layout.actor, where.team, where.project, where.environment)
    except Absent as exc:
        return layout.error(f"{exc}.", 404)


async def _changed(
    layout: Layout,
    variables: VariableService,
    reads: VariableReads,
    where: Place,
    data: SharedVariableForm,
    changes: Callable[[], dict[str, Any]],
) -> Response[Any]:
    """Make the `changes`: back to the page saying which, and which apps take them up; or the
    page with the refusal beside its field (and the name typed, never a value)."""
    shared = await _shared(layout, reads, where)
    if isinstance(shared, Template):
        return shared

    async def change() -> Response[Any]:
        changed = await variables.change(layout.actor, where.command(changes()))
        names = dict.fromkeys([*changed.set, *changed.unset, *changed.scoped])
        done = ", ".join(names) or "nothing changed"
        query = urlencode({"done": done, "apps": ", ".join(changed.apps)})
        return Redirect(f"{where.url}?{query}")

    async def refused(exc: Exception) -> Response[Any]:
        problems = problems_of(exc, {"variables": "name", "scopes": "name", "preview": "name"})
        return _page(layout, where, shared, {"name": data.name}, problems, status_of(exc))

    return await submitted(layout, data.csrf_token, change, refused)


def _page(
    layout: Layout,
    where: Place,
    shared: SharedVariables,
    typed: dict[str, str],
    problems: FieldProblems,
    status: int = 200,
    *,
    done: str = "",
    apps: str = "",
) -> Template:
    # the form shows the name typed; never a value
    return layout.page(
        "shared_variables.html",
        status,
        place=where,
        names=shared.names,
        scopes=shared.scopes,
        form=typed,
        problems=problems,
        done=done,
        apps=apps,
    )
