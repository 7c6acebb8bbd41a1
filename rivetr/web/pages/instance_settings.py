"""The dashboard's settings page, for the instance's administrators: every setting as it takes
effect and where it comes from (secrets never shown), a form for those that change without a
restart, and the users, whose second factor an admin may turn off. Anyone else gets a 403."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_403_FORBIDDEN

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.errors import DomainError
from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.users import UserService
from rivetr.service.queries.accounts import AccountReads
from rivetr.web.pages.forms import FieldProblems, problems_of, stale, status_of
from rivetr.web.pages.guard import csrf_of


class SettingsForm(msgspec.Struct):
    csrf_token: str = ""
    public_url: str = ""


class Shown(msgspec.Struct, kw_only=True):
    form: str = ""
    problems: FieldProblems = msgspec.field(default_factory=dict)
    typed: dict[str, str] = msgspec.field(default_factory=dict)
    status: int = 200


class SettingsPages(Controller):
    path = "/settings"
    include_in_schema = False

    @get("/")
    async def settings_page(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        instance_settings: NamedDependency[InstanceSettings],
        account_reads: NamedDependency[AccountReads],
        users: NamedDependency[UserService],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        return await _settings_page(request, actor, instance_settings, account_reads, users, engine)

    @post("/")
    async def change_settings(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        instance_settings: NamedDependency[InstanceSettings],
        account_reads: NamedDependency[AccountReads],
        users: NamedDependency[UserService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[SettingsForm],
    ) -> Response[Any]:
        """Change `public_url` (empty: back to the config file's value or the default)."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        typed = {"public_url": data.public_url.strip()}
        try:
            await instance_settings.change(actor, {"public_url": typed["public_url"] or None})
        except DomainError as exc:
            shown = Shown(
                form="settings", problems=problems_of(exc), typed=typed, status=status_of(exc)
            )
            return await _settings_page(
                request, actor, instance_settings, account_reads, users, engine, shown
            )
        return Redirect("/settings")

    @post("/users/{user_id:str}/totp/disable")
    async def disable_totp(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[str],
        actor: NamedDependency[Actor],
        instance_settings: NamedDependency[InstanceSettings],
        account_reads: NamedDependency[AccountReads],
        users: NamedDependency[UserService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[SettingsForm],
    ) -> Response[Any]:
        """Turn off the second factor of a user who lost their device."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        try:
            await users.disable_totp(actor, user_id)
        except DomainError as exc:
            shown = Shown(form="users", problems={"": str(exc)}, status=status_of(exc))
            return await _settings_page(
                request, actor, instance_settings, account_reads, users, engine, shown
            )
        return Redirect("/settings")


async def _settings_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    instance_settings: InstanceSettings,
    account_reads: AccountReads,
    users: UserService,
    engine: EngineMonitor,
    shown: Shown | None = None,
) -> Template:
    shown = shown or Shown()
    context: dict[str, Any] = {"actor": actor, "engine": engine, "csrf_token": csrf_of(request)}
    try:
        settings = await instance_settings.effective(actor)
        accounts = await account_reads.users(actor)
    except DomainError as exc:
        # the refusal of what was asked, if something was, else of seeing the page
        context["refused"] = shown.problems.get("") or str(exc)
        return Template("settings.html", context=context, status_code=HTTP_403_FORBIDDEN)
    factors = {u.user_id: await users.second_factor(u.user_id) for u in accounts}
    context |= {
        "settings": settings,
        "users": accounts,
        "factors": factors,
        "shown": shown,
    }
    return Template("settings.html", context=context, status_code=shown.status)
