"""The dashboard's pages before a session: signing in (an e-mail address and password, as for
the API, or an API token), signing out, setting up the first account and taking up an
invitation.

Either credential is kept in an HttpOnly, SameSite=Strict cookie. The forms shown before any
session exists carry a token that must be the HMAC, under a key of the process's own, of a nonce
in a cookie set with the page, so another site cannot sign a visitor in to an account of its
choosing, even one that can set cookies for this host.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, Permission
from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.domain.users import SecondFactorNeeded
from rivetr.service.commands.joining import InvitationJoining, SignInFirst
from rivetr.service.commands.setup import SetupService
from rivetr.service.commands.sign_in_limits import SignInRefused
from rivetr.service.commands.tokens import TokenService
from rivetr.service.commands.users import UserService, csrf_token
from rivetr.web.auth import SESSION_COOKIE, TOKEN_COOKIE, set_private_cookie, tokens_match
from rivetr.web.pages.forms import FieldProblems, problems_of

FORM_COOKIE = "rivetr_form"  # the nonce the token of the forms shown before a session signs
SETUP_ACTOR = Actor(
    kind="system", id="setup", name="setup", permissions=frozenset(Permission), source="setup"
)
_STALE_FORM = "This form has expired (or came from another site): it has been reloaded, try again."


class LoginForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    code: str = ""
    token: str = ""
    form_token: str = ""


class SetupForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    again: str = ""
    code: str = ""
    form_token: str = ""


class InvitationForm(msgspec.Struct):
    password: str = ""
    form_token: str = ""


class LogoutForm(msgspec.Struct):
    csrf_token: str = ""


class SignInPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/login")
    async def login_page(
        self,
        request: Request[Any, Any, Any],
        setup: NamedDependency[SetupService],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        await setup.offer()  # is there still no account?
        return _login_page(request, engine, setup, {}, 200)

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        users: NamedDependency[UserService],
        tokens: NamedDependency[TokenService],
        setup: NamedDependency[SetupService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[LoginForm],
    ) -> Response[Any]:
        if not _form_token_matches(request, data.form_token):
            return _login_page(request, engine, setup, {"": _STALE_FORM}, 403)
        response = Redirect("/")
        if data.email:
            remote = request.client.host if request.client else None
            code = data.code.strip() or None
            try:
                secret, _ = await users.sign_in(data.email, data.password, remote, code)
            except SecondFactorNeeded as needed:
                asked = {"code": str(needed)}
                return _login_page(request, engine, setup, asked, 401, email=data.email)
            except SignInRefused as refused:
                return _login_page(
                    request, engine, setup, {"": str(refused)}, refused.status, email=data.email
                )
            set_private_cookie(response, request, SESSION_COOKIE, secret)
            response.delete_cookie(TOKEN_COOKIE, path="/")
            return response
        actor = await tokens.authenticate(data.token.strip())
        if actor is None:
            unknown = {"token": "That token is unknown or revoked."}
            return _login_page(request, engine, setup, unknown, 401)
        set_private_cookie(response, request, TOKEN_COOKIE, data.token.strip())
        return response

    @post("/logout")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        users: NamedDependency[UserService],
        data: URLEncodedBody[LogoutForm],
    ) -> Response[Any]:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            if not tokens_match(data.csrf_token, csrf_token(session)):
                return Response(
                    "signing out needs the form's CSRF token",
                    status_code=403,
                    media_type="text/plain",
                )
            await users.sign_out(session)
        response = Redirect("/login")
        response.delete_cookie(TOKEN_COOKIE, path="/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/setup")
    async def setup_page(
        self,
        request: Request[Any, Any, Any],
        setup: NamedDependency[SetupService],
        engine: NamedDependency[EngineMonitor],
    ) -> Response[Any]:
        """The first account, made in the browser with the code the service logged."""
        if await setup.offer() is None:
            return Redirect("/login")
        return _setup_page(request, engine, {}, 200)

    @post("/setup")
    async def make_first_account(
        self,
        request: Request[Any, Any, Any],
        setup: NamedDependency[SetupService],
        users: NamedDependency[UserService],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[SetupForm],
    ) -> Response[Any]:
        code = await setup.offer()
        if code is None:
            return Redirect("/login")
        email = data.email.strip()
        if not _form_token_matches(request, data.form_token):
            return _setup_page(request, engine, {"": _STALE_FORM}, 403, email)
        if not tokens_match(data.code.strip(), code):
            refused = {"code": "That is not the setup code in the log."}
            return _setup_page(request, engine, refused, 403, email)
        if data.password != data.again:
            return _setup_page(request, engine, {"again": "The two passwords differ."}, 422, email)
        try:
            user_id, _, _ = await setup.create_admin(SETUP_ACTOR, data.email, data.password)
            remote = request.client.host if request.client else None
            session, _ = await users.sign_in(user_id, data.password, remote)
        except DomainError as refused:
            return _setup_page(request, engine, problems_of(refused), refused.status, email)
        setup.close()
        response = Redirect("/")
        set_private_cookie(response, request, SESSION_COOKIE, session)
        return response

    @get("/invite/{secret:str}", name="accept_page")
    async def invitation_page(
        self,
        request: Request[Any, Any, Any],
        secret: FromPath[str],
        users: NamedDependency[UserService],
        joining: NamedDependency[InvitationJoining],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        return await _invitation_page(request, users, joining, engine, secret, {}, 200)

    @post("/invite/{secret:str}")
    async def accept_invitation(
        self,
        request: Request[Any, Any, Any],
        secret: FromPath[str],
        users: NamedDependency[UserService],
        joining: NamedDependency[InvitationJoining],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[InvitationForm],
    ) -> Response[Any]:
        """Join with the signed-in account, or open the invited address's account."""
        if not _form_token_matches(request, data.form_token):
            stale_form = {"": _STALE_FORM}
            return await _invitation_page(request, users, joining, engine, secret, stale_form, 403)
        session = request.cookies.get(SESSION_COOKIE)
        remote = request.client.host if request.client else None
        try:
            actor = await users.authenticate(session) if session else None
            try:
                joined = await joining.join(secret, actor, data.password, remote)
            except SignInFirst as refused:
                raise InvalidCommand(f"{refused.email} has an account: sign in first") from None
        except DomainError as refused:
            return await _invitation_page(
                request, users, joining, engine, secret, problems_of(refused), refused.status
            )
        response = Redirect("/")
        if joined.session is not None:
            set_private_cookie(response, request, SESSION_COOKIE, joined.session)
        return response


def _form_token(request: Request[Any, Any, Any], nonce: str) -> str:
    """The token a pre-session form carries: the form cookie's nonce signed with the process's
    own key, so that whoever can set a cookie for this host still cannot make a pair that
    matches."""
    key: bytes = request.app.state.form_key
    signed = hmac.new(key, b"rivetr form:" + nonce.encode("utf-8", "surrogatepass"), "sha256")
    return signed.hexdigest()[:32]


def _form_token_matches(request: Request[Any, Any, Any], presented: str) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False  # the browser says another site (a sibling subdomain too) sent the form
    nonce = request.cookies.get(FORM_COOKIE, "")
    return bool(nonce) and tokens_match(presented, _form_token(request, nonce))


def _with_form_token(request: Request[Any, Any, Any], template: Template) -> Template:
    """Give the page's form its token, keeping the form cookie's nonce if it has one."""
    nonce = request.cookies.get(FORM_COOKIE)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        set_private_cookie(template, request, FORM_COOKIE, nonce)
    template.context["form_token"] = _form_token(request, nonce)
    return template


def _setup_page(
    request: Request[Any, Any, Any],
    engine: EngineMonitor,
    problems: FieldProblems,
    status: int,
    email: str = "",
) -> Template:
    context = {"engine": engine, "problems": problems, "email": email}
    return _with_form_token(request, Template("setup.html", context=context, status_code=status))


def _login_page(
    request: Request[Any, Any, Any],
    engine: EngineMonitor,
    setup: SetupService,
    problems: FieldProblems,
    status: int,
    email: str = "",
) -> Template:
    context = {
        "engine": engine,
        "problems": problems,
        "email": email,
        "ask_code": bool(email),
        "setup": setup.code is not None,
    }
    return _with_form_token(request, Template("login.html", context=context, status_code=status))


async def _invitation_page(
    request: Request[Any, Any, Any],
    users: UserService,
    joining: InvitationJoining,
    engine: EngineMonitor,
    secret: str,
    problems: FieldProblems,
    status: int,
) -> Template:
    session = request.cookies.get(SESSION_COOKIE)
    actor = await users.authenticate(session) if session else None
    invitation = None
    has_account = False
    try:
        invitation = await joining.invitation(secret)
        has_account = await users.exists(invitation.email)
    except DomainError as refused:
        if not problems:
            problems, status = {"": str(refused)}, refused.status
    context = {
        "engine": engine,
        "problems": problems,
        "invitation": invitation,
        "actor": actor,
        "has_account": has_account,
    }
    return _with_form_token(request, Template("invite.html", context=context, status_code=status))
