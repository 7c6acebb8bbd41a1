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
from rivetr.web.pages.forms import FieldProblems, Refused, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout


class SettingsForm(msgspec.Struct):
    csrf_token: str = ""
    public_url: str = ""


class Shown(msgspec.Struct, kw_only=True):
    """What the settings page shows besides the settings: a form refused (its name, its
    problems and what was typed)."""

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
        layout = Layout(request, actor, engine)
        return await SettingsPage(layout, instance_settings, account_reads, users).shown()

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
        page = SettingsPage(Layout(request, actor, engine), instance_settings, account_reads, users)
        typed = {"public_url": data.public_url.strip()}

        async def change() -> Response[Any]:
            await instance_settings.change(actor, {"public_url": typed["public_url"] or None})
            return Redirect("/settings")

        return await submitted(
            page.layout, data.csrf_token, change, page.refused("settings", typed)
        )

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
        page = SettingsPage(Layout(request, actor, engine), instance_settings, account_reads, users)

        async def disable() -> Response[Any]:
            await users.disable_totp(actor, user_id)
            return Redirect("/settings")

        return await submitted(
            page.layout, data.csrf_token, disable, page.refused("users", whole=True)
        )


class SettingsPage:
    """The settings page, as it is or with what a form made of it."""

    def __init__(
        self,
        layout: Layout,
        instance_settings: InstanceSettings,
        account_reads: AccountReads,
        users: UserService,
    ) -> None:
        self.layout = layout
        self.instance_settings = instance_settings
        self.account_reads = account_reads
        self.users = users

    async def shown(self, shown: Shown | None = None) -> Template:
        """The page, with a refused form (`shown`), if any; to whoever is not an instance
        administrator, the refusal alone (403)."""
        shown = shown or Shown()
        actor = self.layout.actor
        try:
            settings = await self.instance_settings.effective(actor)
            accounts = await self.account_reads.users(actor)
        except DomainError as exc:
            # the refusal of what was asked, if something was, else of seeing the page
            refused = shown.problems.get("") or str(exc)
            return self.layout.page("settings.html", HTTP_403_FORBIDDEN, refused=refused)
        factors = {u.user_id: await self.users.second_factor(u.user_id) for u in accounts}
        return self.layout.page(
            "settings.html",
            shown.status,
            settings=settings,
            users=accounts,
            factors=factors,
            shown=shown,
        )

    def refused(
        self, form: str, typed: dict[str, str] | None = None, *, whole: bool = False
    ) -> Refused:
        """The page again with the refusal beside `form`'s field, or above it when `whole` (a
        button's, which has no field to show it beside)."""

        async def again(exc: Exception) -> Response[Any]:
            problems = {"": str(exc)} if whole else problems_of(exc)
            shown = Shown(form=form, problems=problems, typed=typed or {}, status=status_of(exc))
            return await self.shown(shown)

        return again
