"""The server-rendered dashboard: status, applications and recent activity.

Signing in takes an e-mail address and password (a session, as for the API) or an API token;
either is kept in an HttpOnly, SameSite=Strict cookie. Forms that change something carry the
session's CSRF token. The pages read the same read model as the API.
"""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.bootstrap import Services
from rivetr.domain.access import Actor, Permission
from rivetr.service.users import SignInRefused, csrf_token
from rivetr.web.auth import SESSION_COOKIE, set_private_cookie

COOKIE = "rivetr_token"


class LoginForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    token: str = ""


class LogoutForm(msgspec.Struct):
    csrf_token: str = ""


async def _signed_in(request: Request[Any, Any, Any], services: Services) -> Actor | None:
    session = request.cookies.get(SESSION_COOKIE)
    token = request.cookies.get(COOKIE)
    actor = await services.users.authenticate(session) if session else None
    if actor is None and token:  # an ended session does not hide a valid token
        actor = await services.tokens.authenticate(token)
    return actor if actor and Permission.READ in actor.permissions else None


def _csrf_of(request: Request[Any, Any, Any]) -> str | None:
    """The CSRF token the page's forms carry, for a password session (None for a token)."""
    session = request.cookies.get(SESSION_COOKIE)
    return csrf_token(session) if session else None


class DashboardController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Template | Redirect:
        actor = await _signed_in(request, services)
        if actor is None:
            return Redirect("/login")
        return Template(
            "index.html",
            context={
                "actor": actor,
                "engine": services.engine,
                "apps": await services.read.list_apps(),
                "activity": await services.read.recent_audit(20),
                "csrf_token": _csrf_of(request),
            },
        )

    @get("/login")
    async def login_page(self, services: NamedDependency[Services]) -> Template:
        return Template("login.html", context={"engine": services.engine, "error": None})

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: URLEncodedBody[LoginForm],
    ) -> Response[Any]:
        response = Redirect("/")
        if data.email:
            remote = request.client.host if request.client else None
            try:
                secret, _ = await services.users.sign_in(data.email, data.password, remote)
            except SignInRefused as refused:
                return _login_page(services, str(refused), refused.status)
            set_private_cookie(response, request, SESSION_COOKIE, secret)
            response.delete_cookie(COOKIE, path="/")
            return response
        actor = await services.tokens.authenticate(data.token.strip())
        if actor is None:
            return _login_page(services, "That token is unknown or revoked.", 401)
        set_private_cookie(response, request, COOKIE, data.token.strip())
        return response

    @post("/logout")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: URLEncodedBody[LogoutForm],
    ) -> Response[Any]:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            if not hmac.compare_digest(data.csrf_token, csrf_token(session)):
                return Response(
                    "signing out needs the form's CSRF token",
                    status_code=403,
                    media_type="text/plain",
                )
            await services.users.sign_out(session)
        response = Redirect("/login")
        response.delete_cookie(COOKIE, path="/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _login_page(services: Services, error: str, status: int) -> Template:
    return Template(
        "login.html", context={"engine": services.engine, "error": error}, status_code=status
    )
