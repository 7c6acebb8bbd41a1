"""The dashboard's account page: one's open sessions (this one marked; end one, or all the
others) and the second factor (set up with a QR code, confirmed by a code, which answers the
recovery codes once; turned off with a code). Through the user service, as the API is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Actor, authorize_account
from rivetr.projections.users import SessionListing
from rivetr.service.commands.users import UserService
from rivetr.service.queries.accounts import AccountReads
from rivetr.web.api.account import CodeBody
from rivetr.web.auth import SESSION_COOKIE
from rivetr.web.pages.forms import Act, FieldProblems, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout
from rivetr.web.qr import qr_svg


class AccountForm(msgspec.Struct):
    csrf_token: str = ""
    code: str = ""


class Shown(msgspec.Struct, kw_only=True):
    """What the account page shows besides its state: a refused form (its name, problems), a
    second factor's set-up (seed and URI, shown until confirmed) or recovery codes (once)."""

    form: str = ""
    problems: FieldProblems = msgspec.field(default_factory=dict)
    setup: tuple[str, str] | None = None
    recovery_codes: list[str] | None = None
    status: int = 200


@dataclass(frozen=True)
class AccountPage:
    """The account page of the reader signed in, as it is or with what a form made of it."""

    layout: Layout
    users: UserService
    account_reads: AccountReads

    async def current(self) -> str | None:
        """The session this page is read in, if by one (not by a token)."""
        secret = self.layout.request.cookies.get(SESSION_COOKIE)
        return await self.account_reads.current_session(secret) if secret else None

    async def own_sessions(self) -> list[SessionListing]:
        """One's own sessions (an instance admin's listing has everyone's: theirs are elsewhere)."""
        actor = self.layout.actor
        return [s for s in await self.account_reads.sessions(actor) if s.user_id == actor.user]

    async def shown(self, shown: Shown | None = None) -> Template:
        """The page, with what a form made of it (`shown`), if anything."""
        shown = shown or Shown()
        actor = self.layout.actor
        person = actor.kind == "user" and actor.user is not None
        setup = shown.setup
        factor = await self.users.second_factor(actor.user) if person and actor.user else ""
        return self.layout.page(
            "account.html",
            shown.status,
            person=person,
            sessions=await self.own_sessions() if person else [],
            current=await self.current(),
            second_factor=factor,
            shown=shown,
            qr=qr_svg(setup[1], "QR code of the authenticator set-up", "totp-qr") if setup else "",
        )

    async def submitted(
        self, data: AccountForm, act: Act, form: str, *, whole: bool = False
    ) -> Response[Any]:
        """What `act` answers, or the page again with the refusal beside `form`'s field, or
        above it when `whole` (a button's, which has no field to show it beside)."""

        async def refused(exc: Exception) -> Response[Any]:
            problems = {"": str(exc)} if whole else problems_of(exc)
            return await self.shown(Shown(form=form, problems=problems, status=status_of(exc)))

        return await submitted(self.layout, data.csrf_token, act, refused)


def _code_of(actor: Actor, data: AccountForm) -> str:
    """The second factor's code typed, once the actor is found to have a second factor (a
    person, not a token)."""
    authorize_account(actor, "second factor")
    return msgspec.convert({"code": data.code.strip()}, CodeBody).code


def provide_account_page(
    layout: NamedDependency[Layout],
    users: NamedDependency[UserService],
    account_reads: NamedDependency[AccountReads],
) -> AccountPage:
    return AccountPage(layout, users, account_reads)


class AccountPages(Controller):
    path = "/account"
    include_in_schema = False
    dependencies = {"page": Provide(provide_account_page, sync_to_thread=False)}

    @get("/")
    async def account_page(self, page: NamedDependency[AccountPage]) -> Template:
        return await page.shown()

    @post("/sessions/{session_id:str}/end")
    async def end_session(
        self,
        session_id: FromPath[str],
        users: NamedDependency[UserService],
        page: NamedDependency[AccountPage],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        actor = page.layout.actor

        async def end() -> Response[Any]:
            found = await page.account_reads.session(actor, session_id)
            await users.revoke_session(actor, found.user_id, session_id)
            return Redirect("/account")

        return await page.submitted(data, end, "sessions", whole=True)

    @post("/sessions/end-others")
    async def end_other_sessions(
        self,
        users: NamedDependency[UserService],
        page: NamedDependency[AccountPage],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """Sign out everywhere else: each of one's other sessions ended, as one by one."""

        async def end_others() -> Response[Any]:
            current = await page.current()
            for session in await page.own_sessions():
                if session.session_id != current:
                    await users.revoke_session(
                        page.layout.actor, session.user_id, session.session_id
                    )
            return Redirect("/account")

        return await page.submitted(data, end_others, "sessions", whole=True)

    @post("/totp")
    async def enroll_totp(
        self,
        users: NamedDependency[UserService],
        page: NamedDependency[AccountPage],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """Start (or start again) setting up a second factor: the page shows its QR code."""
        actor = page.layout.actor

        async def enroll() -> Response[Any]:
            authorize_account(actor, "second factor")
            return await page.shown(Shown(setup=await users.enroll_totp(actor)))

        return await page.submitted(data, enroll, "totp")

    @post("/totp/confirm")
    async def confirm_totp(
        self,
        users: NamedDependency[UserService],
        page: NamedDependency[AccountPage],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """A code from the device turns the second factor on: the recovery codes, this once."""
        actor = page.layout.actor

        async def confirm() -> Response[Any]:
            codes = await users.confirm_totp(actor, _code_of(actor, data))
            return await page.shown(Shown(recovery_codes=codes))

        return await page.submitted(data, confirm, "confirm")

    @post("/totp/disable")
    async def disable_totp(
        self,
        users: NamedDependency[UserService],
        page: NamedDependency[AccountPage],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """Turn one's second factor off with a current code (or a recovery code)."""
        actor = page.layout.actor

        async def disable() -> Response[Any]:
            code = _code_of(actor, data)
            assert actor.user is not None  # a session's actor is a user's
            await users.disable_totp(actor, actor.user, code)
            return Redirect("/account")

        return await page.submitted(data, disable, "disable")
