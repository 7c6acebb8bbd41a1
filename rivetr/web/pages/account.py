"""The dashboard's account page: one's open sessions (this one marked; end one, or all the
others) and the second factor (set up with a QR code, confirmed by a code, which answers the
recovery codes once; turned off with a code). Through the user service, as the API is."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, authorize_account
from rivetr.domain.errors import DomainError
from rivetr.projections.users import SessionListing
from rivetr.service.commands.users import UserService
from rivetr.service.queries.accounts import AccountReads
from rivetr.web.api.account import CodeBody
from rivetr.web.auth import SESSION_COOKIE
from rivetr.web.pages.forms import FieldProblems, problems_of, stale, status_of
from rivetr.web.pages.guard import csrf_of
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


class AccountPages(Controller):
    path = "/account"
    include_in_schema = False

    @get("/")
    async def account_page(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        users: NamedDependency[UserService],
        account_reads: NamedDependency[AccountReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        return await _account_page(request, actor, users, account_reads, engine)

    @post("/sessions/{session_id:str}/end")
    async def end_session(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        actor: NamedDependency[Actor],
        users: NamedDependency[UserService],
        account_reads: NamedDependency[AccountReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        try:
            found = await account_reads.session(actor, session_id)
            await users.revoke_session(actor, found.user_id, session_id)
        except DomainError as exc:
            shown = Shown(form="sessions", problems={"": str(exc)}, status=status_of(exc))
            return await _account_page(request, actor, users, account_reads, engine, shown)
        return Redirect("/account")

    @post("/sessions/end-others")
    async def end_other_sessions(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        users: NamedDependency[UserService],
        account_reads: NamedDependency[AccountReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """Sign out everywhere else: each of one's other sessions ended, as one by one."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        current = await _current(request, account_reads)
        try:
            for session in await _own_sessions(actor, account_reads):
                if session.session_id != current:
                    await users.revoke_session(actor, session.user_id, session.session_id)
        except DomainError as exc:
            shown = Shown(form="sessions", problems={"": str(exc)}, status=status_of(exc))
            return await _account_page(request, actor, users, account_reads, engine, shown)
        return Redirect("/account")

    @post("/totp")
    async def enroll_totp(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        users: NamedDependency[UserService],
        account_reads: NamedDependency[AccountReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """Start (or start again) setting up a second factor: the page shows its QR code."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        try:
            authorize_account(actor, "second factor")
            shown = Shown(setup=await users.enroll_totp(actor))
        except DomainError as exc:
            shown = Shown(form="totp", problems=problems_of(exc), status=status_of(exc))
        return await _account_page(request, actor, users, account_reads, engine, shown)

    @post("/totp/confirm")
    async def confirm_totp(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        users: NamedDependency[UserService],
        account_reads: NamedDependency[AccountReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """A code from the device turns the second factor on: the recovery codes, this once."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        try:
            authorize_account(actor, "second factor")
            asked = msgspec.convert({"code": data.code.strip()}, CodeBody)
            shown = Shown(recovery_codes=await users.confirm_totp(actor, asked.code))
        except (msgspec.ValidationError, DomainError) as exc:
            shown = Shown(form="confirm", problems=problems_of(exc), status=status_of(exc))
        return await _account_page(request, actor, users, account_reads, engine, shown)

    @post("/totp/disable")
    async def disable_totp(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        users: NamedDependency[UserService],
        account_reads: NamedDependency[AccountReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[AccountForm],
    ) -> Response[Any]:
        """Turn one's second factor off with a current code (or a recovery code)."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        try:
            authorize_account(actor, "second factor")
            asked = msgspec.convert({"code": data.code.strip()}, CodeBody)
            assert actor.user is not None  # a session's actor is a user's
            await users.disable_totp(actor, actor.user, asked.code)
        except (msgspec.ValidationError, DomainError) as exc:
            shown = Shown(form="disable", problems=problems_of(exc), status=status_of(exc))
            return await _account_page(request, actor, users, account_reads, engine, shown)
        return Redirect("/account")


async def _current(request: Request[Any, Any, Any], account_reads: AccountReads) -> str | None:
    secret = request.cookies.get(SESSION_COOKIE)
    return await account_reads.current_session(secret) if secret else None


async def _own_sessions(actor: Actor, account_reads: AccountReads) -> list[SessionListing]:
    """One's own sessions (an instance admin's listing has everyone's: theirs are elsewhere)."""
    return [s for s in await account_reads.sessions(actor) if s.user_id == actor.user]


async def _account_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    users: UserService,
    account_reads: AccountReads,
    engine: EngineMonitor,
    shown: Shown | None = None,
) -> Template:
    shown = shown or Shown()
    person = actor.kind == "user" and actor.user is not None
    setup = shown.setup
    context = {
        "actor": actor,
        "engine": engine,
        "csrf_token": csrf_of(request),
        "person": person,
        "sessions": await _own_sessions(actor, account_reads) if person else [],
        "current": await _current(request, account_reads),
        "second_factor": await users.second_factor(actor.user) if person and actor.user else "",
        "shown": shown,
        "qr": qr_svg(setup[1], "QR code of the authenticator set-up", "totp-qr") if setup else "",
    }
    return Template("account.html", context=context, status_code=shown.status)
