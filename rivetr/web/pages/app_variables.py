"""The dashboard's variables editor of one app: names listed, values write-only (never shown,
never filled in again), set or replace one, remove one, or paste a `.env` file. Each is a
ChangeAppSettings of `env` through the application service, as the API's PATCH is."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.commands import ChangeAppSettings
from rivetr.projections.apps import AppView
from rivetr.service.commands.apps import AppService
from rivetr.service.queries.apps import AppReads
from rivetr.web.pages.app_found import app_for, app_of_form
from rivetr.web.pages.env_text import one_variable, pasted
from rivetr.web.pages.forms import FieldProblems, attempted, problems_of, status_of
from rivetr.web.pages.guard import Layout

_NAMES = re.compile(r"[A-Za-z0-9_, ]{0,4096}")


class VariableForm(msgspec.Struct):
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


class AppVariables(Controller):
    path = "/"
    include_in_schema = False

    @get("/apps/{name:str}/variables")
    async def page(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
    ) -> Template:
        app = await app_for(layout, app_reads, name)
        if isinstance(app, Template):
            return app
        done = layout.request.query_params.get("done", "")
        if not _NAMES.fullmatch(done):  # the redirect's list of names, nothing else
            done = ""
        return await _page(layout, app_reads, app, {}, {}, done=done)

    @post("/apps/{name:str}/variables")
    async def set_one(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        """Set one variable, or replace its value, with its scopes and preview value."""

        def changes() -> dict[str, Any]:
            return one_variable(data, "env", "env_scopes", "env_preview")

        return await _changed(layout, apps, app_reads, name, data, changes)

    @post("/apps/{name:str}/variables/remove")
    async def remove_one(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        def changes() -> dict[str, Any]:
            return {"env": {data.name.strip(): None}}

        return await _changed(layout, apps, app_reads, name, data, changes)

    @post("/apps/{name:str}/variables/paste")
    async def paste(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        """Set every variable of a pasted `.env` file; the others stay as they are."""

        def changes() -> dict[str, Any]:
            return {"env": pasted(data.text)}

        return await _changed(layout, apps, app_reads, name, data, changes)


async def _changed(
    layout: Layout,
    apps: AppService,
    app_reads: AppReads,
    name: str,
    data: VariableForm,
    changes: Callable[[], dict[str, Any]],
) -> Response[Any]:
    """Make the `changes` (fields of ChangeAppSettings) to the app's variables: back to the
    page saying which, or the page with the refusal beside its field (and the name typed,
    never a value)."""
    app = await app_of_form(layout, data.csrf_token, app_reads, name, Permission.EDIT_APPS)
    if not isinstance(app, AppView):
        return app

    async def change() -> Response[Any]:
        fields = changes()
        command = msgspec.convert({"name": app.name, **fields}, ChangeAppSettings)
        await apps.handle(layout.actor, command)
        return Redirect(f"/apps/{name}/variables?done={', '.join(sorted(fields['env']))}")

    async def refused(exc: Exception) -> Response[Any]:
        # the name is at fault when msgspec refuses a key of `env` (or of its scopes)
        problems = problems_of(exc, {"env": "name", "env_scopes": "name", "env_preview": "name"})
        return await _page(layout, app_reads, app, {"name": data.name}, problems, status_of(exc))

    return await attempted(change, refused)


async def _page(
    layout: Layout,
    app_reads: AppReads,
    app: AppView,
    typed: dict[str, str],
    problems: FieldProblems,
    status: int = 200,
    *,
    done: str = "",
) -> Template:
    # the form shows the name typed; never a value
    scopes = await app_reads.variable_scopes_of(app)
    return layout.page(
        "app_variables.html",
        status,
        app=app,
        scopes=scopes,
        form=typed,
        problems=problems,
        done=done,
    )
