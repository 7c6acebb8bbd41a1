"""The dashboard's one signed-in guard: the `actor` of every page that needs an account, taken
from the session cookie or the token cookie; whoever has neither is sent to the sign-in page.
Also what every page shares: the CSRF token its forms carry, its layout, and the error page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.service.commands.tokens import TokenService
from rivetr.service.commands.users import UserService, csrf_token
from rivetr.web.auth import SESSION_COOKIE, TOKEN_COOKIE


class NotSignedIn(Exception):
    """A page that needs an account was asked for by nobody signed in."""


async def signed_in(
    request: Request[Any, Any, Any],
    users: NamedDependency[UserService],
    tokens: NamedDependency[TokenService],
) -> Actor:
    session = request.cookies.get(SESSION_COOKIE)
    token = request.cookies.get(TOKEN_COOKIE)
    actor = await users.authenticate(session) if session else None
    if actor is None and token:  # an ended session does not hide a valid token
        actor = await tokens.authenticate(token)
    if actor is None:
        raise NotSignedIn
    return actor


def to_sign_in(request: Request[Any, Any, Any], exc: NotSignedIn) -> Response[Any]:
    return Redirect("/login")


def layout_of(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    engine: NamedDependency[EngineMonitor],
) -> Layout:
    return Layout(request, actor, engine)


GUARD = {"actor": Provide(signed_in), "layout": Provide(layout_of, sync_to_thread=False)}
GUARD_HANDLERS: ExceptionHandlersMap = {NotSignedIn: to_sign_in}


def csrf_of(request: Request[Any, Any, Any]) -> str | None:
    """The CSRF token the page's forms carry: derived from the session's secret, or from the
    token the dashboard was signed in with."""
    secret = request.cookies.get(SESSION_COOKIE) or request.cookies.get(TOKEN_COOKIE)
    return csrf_token(secret) if secret else None


def error_page(
    engine: EngineMonitor,
    message: str,
    status: int = 404,
    *,
    actor: Actor | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> Template:
    """The error page. A signed-in reader's (`actor`, and the `request` whose CSRF token the
    Sign out form carries) has the nav, to go on from; one before any session has none."""
    context: dict[str, Any] = {"engine": engine, "message": message, "status": status}
    if actor is not None:
        context |= {"actor": actor, "csrf_token": csrf_of(request) if request else None}
    return Template("error.html", context=context, status_code=status)


def storage_fault(request: Request[Any, Any, Any]) -> str | None:
    """What keeps the log from being written now (a full disk...), for every page's banner."""
    services = getattr(request.app.state, "services", None)
    fault = services.store.fault if services is not None else None
    return fault.fault.describe() if fault is not None else None


@dataclass(frozen=True)
class Layout:
    """What a signed-in page is drawn in (base.html): the nav, who is signed in with the CSRF
    token its forms (Sign out's too) carry, and the engine's state."""

    request: Request[Any, Any, Any]
    actor: Actor
    engine: EngineMonitor

    def context(self, **values: Any) -> dict[str, Any]:
        """The page's own `values` with what the layout shows."""
        layout = {"actor": self.actor, "engine": self.engine, "csrf_token": csrf_of(self.request)}
        return layout | values

    def page(self, template: str, status: int = 200, **values: Any) -> Template:
        return Template(template, context=self.context(**values), status_code=status)

    def error(self, message: str, status: int = 404) -> Template:
        return error_page(self.engine, message, status, actor=self.actor, request=self.request)
