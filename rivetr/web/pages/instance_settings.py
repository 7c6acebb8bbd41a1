"""The dashboard's settings page, for the instance's administrators: every setting as it takes
effect and where it comes from (secrets never shown), a form for those that change without a
restart, and the users, whose second factor an admin may turn off. Anyone else gets a 403."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_403_FORBIDDEN

from rivetr.domain.errors import DomainError
from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.users import UserService
from rivetr.service.queries.accounts import AccountReads
from rivetr.web.pages.forms import Act, Shown, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout


class SettingsForm(msgspec.Struct):
    csrf_token: str = ""
    public_url: str = ""


@dataclass(frozen=True)
class SettingsPage:
    """The settings page, as it is or with what a form made of it."""

    layout: Layout
    instance_settings: InstanceSettings
    account_reads: AccountReads
    users: UserService

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

    async def submitted(
        self,
        data: SettingsForm,
        act: Act,
        form: str,
        typed: dict[str, str] | None = None,
        *,
        whole: bool = False,
    ) -> Response[Any]:
        """What `act` answers, or the page again with the refusal beside `form`'s field (or
        above it when `whole`: a button's, which has no field) and what was `typed`."""

        async def refused(exc: Exception) -> Response[Any]:
            problems = {"": str(exc)} if whole else problems_of(exc)
            shown = Shown(form=form, problems=problems, typed=typed or {}, status=status_of(exc))
            return await self.shown(shown)

        return await submitted(self.layout, data.csrf_token, act, refused)


def provide_settings_page(
    layout: NamedDependency[Layout],
    instance_settings: NamedDependency[InstanceSettings],
    account_reads: NamedDependency[AccountReads],
    users: NamedDependency[UserService],
) -> SettingsPage:
    return SettingsPage(layout, instance_settings, account_reads, users)


class SettingsPages(Controller):
    path = "/settings"
    include_in_schema = False
    dependencies = {"page": Provide(provide_settings_page, sync_to_thread=False)}

    @get("/")
    async def settings_page(self, page: NamedDependency[SettingsPage]) -> Template:
        return await page.shown()

    @post("/")
    async def change_settings(
        self,
        instance_settings: NamedDependency[InstanceSettings],
        page: NamedDependency[SettingsPage],
        data: URLEncodedBody[SettingsForm],
    ) -> Response[Any]:
        """Change `public_url` (empty: back to the config file's value or the default)."""
        typed = {"public_url": data.public_url.strip()}

        async def change() -> Response[Any]:
            changes = {"public_url": typed["public_url"] or None}
            await instance_settings.change(page.layout.actor, changes)
            return Redirect("/settings")

        return await page.submitted(data, change, "settings", typed)

    @post("/users/{user_id:str}/totp/disable")
    async def disable_totp(
        self,
        user_id: FromPath[str],
        users: NamedDependency[UserService],
        page: NamedDependency[SettingsPage],
        data: URLEncodedBody[SettingsForm],
    ) -> Response[Any]:
        """Turn off the second factor of a user who lost their device."""

        async def disable() -> Response[Any]:
            await users.disable_totp(page.layout.actor, user_id)
            return Redirect("/settings")

        return await page.submitted(data, disable, "users", whole=True)
