"""The server-rendered dashboard: status, applications and recent activity.

Signing in takes an API token, kept in an HttpOnly, SameSite=Strict cookie; the pages read the
same read model as the API.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.bootstrap import Services
from rivetr.domain.access import Actor, Permission

COOKIE = "rivetr_token"


class LoginForm(msgspec.Struct):
    token: str


async def _signed_in(request: Request[Any, Any, Any], services: Services) -> Actor | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    actor = await services.tokens.authenticate(token)
    return actor if actor and Permission.READ in actor.permissions else None


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
        actor = await services.tokens.authenticate(data.token.strip())
        if actor is None:
            return Template(
                "login.html",
                context={"engine": services.engine, "error": "That token is unknown or revoked."},
                status_code=401,
            )
        response = Redirect("/")
        response.set_cookie(
            COOKIE,
            data.token.strip(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @post("/logout")
    async def logout(self) -> Redirect:
        response = Redirect("/login")
        response.delete_cookie(COOKIE, path="/")
        return response
