"""The dashboard's variables editor of one app: names listed, values write-only (never shown,
never filled in again), set or replace one, remove one, or paste a `.env` file. Each is a
ChangeAppSettings of `env` through the application service, as the API's PATCH is."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, Permission
from rivetr.domain.commands import ChangeAppSettings
from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.projections.apps import AppView
from rivetr.service.commands.apps import AppService
from rivetr.service.queries.apps import AppReads
from rivetr.web.pages.app_found import app_or_refusal
from rivetr.web.pages.env_text import check_name, parse_env
from rivetr.web.pages.forms import FieldProblems, problems_of, stale, status_of
from rivetr.web.pages.guard import csrf_of

_NAMES = re.compile(r"[A-Za-z0-9_, ]{0,4096}")


class VariableForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""  # set one / remove one
    value: str = ""  # write-only
    text: str = ""  # a pasted .env file; write-only


class AppVariables(Controller):
    path = "/"
    include_in_schema = False

    @get("/apps/{name:str}/variables")
    async def page(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        app_reads: NamedDependency[AppReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        app = await app_or_refusal(app_reads, engine, actor, name)
        if isinstance(app, Template):
            return app
        done = request.query_params.get("done", "")
        if not _NAMES.fullmatch(done):  # the redirect's list of names, nothing else
            done = ""
        return _page(request, actor, engine, app, {}, {}, done)

    @post("/apps/{name:str}/variables")
    async def set_one(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        """Set one variable, or replace its value."""

        def changes() -> dict[str, str | None]:
            return {check_name(data.name.strip(), "name"): data.value}

        return await _changed(request, actor, apps, app_reads, engine, name, data, changes)

    @post("/apps/{name:str}/variables/remove")
    async def remove_one(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        def changes() -> dict[str, str | None]:
            return {data.name.strip(): None}

        return await _changed(request, actor, apps, app_reads, engine, name, data, changes)

    @post("/apps/{name:str}/variables/paste")
    async def paste(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        apps: NamedDependency[AppService],
        app_reads: NamedDependency[AppReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        """Set every variable of a pasted `.env` file; the others stay as they are."""

        def changes() -> dict[str, str | None]:
            parsed = parse_env(data.text, "text")
            if not parsed:
                raise InvalidCommand("no NAME=value line to set", field="text")
            return dict(parsed)

        return await _changed(request, actor, apps, app_reads, engine, name, data, changes)


async def _changed(
    request: Request[Any, Any, Any],
    actor: Actor,
    apps: AppService,
    app_reads: AppReads,
    engine: EngineMonitor,
    name: str,
    data: VariableForm,
    changes: Any,
) -> Response[Any]:
    if (refused := stale(request, data.csrf_token, engine)) is not None:
        return refused
    app = await app_or_refusal(app_reads, engine, actor, name, Permission.EDIT_APPS)
    if isinstance(app, Template):
        return app
    try:
        env = changes()
        command = msgspec.convert({"name": app.name, "env": env}, ChangeAppSettings)
        await apps.handle(actor, command)
    except (msgspec.ValidationError, DomainError) as exc:
        # the name is at fault when msgspec refuses a key of `env`
        problems = problems_of(exc, {"env": "name"})
        page = _page(request, actor, engine, app, {"name": data.name}, problems)
        page.status_code = status_of(exc)
        return page
    done = ", ".join(sorted(env))
    return Redirect(f"/apps/{name}/variables?done={done}")


def _page(
    request: Request[Any, Any, Any],
    actor: Actor,
    engine: EngineMonitor,
    app: AppView,
    typed: dict[str, str],
    problems: FieldProblems,
    done: str = "",
) -> Template:
    return Template(
        "app_variables.html",
        context={
            "actor": actor,
            "engine": engine,
            "app": app,
            "form": typed,  # the name typed; never a value
            "problems": problems,
            "done": done,
            "csrf_token": csrf_of(request),
        },
    )
