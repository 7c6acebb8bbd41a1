"""Authentication for /api/v1: a bearer token, or a session cookie from a password sign-in.
The identity becomes `request.user`, the Actor recorded on every event the request causes.

A cookie travels with every request the browser makes, cross-site ones included, so a request
signed by the cookie may change something only if it also carries the session's CSRF token
(`X-CSRF-Token`), which a page on another site cannot read. A bearer token needs none: a
browser never adds it by itself."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from rivetr.domain.access import Actor
from rivetr.domain.tokens import TokenRefused
from rivetr.service.commands.users import csrf_token

SESSION_COOKIE = "rivetr_session"
TOKEN_COOKIE = "rivetr_token"  # the dashboard signed in with an API token
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        services = connection.app.state.services
        header = connection.headers.get("authorization", "")
        session = connection.cookies.get(SESSION_COOKIE)
        if not header and session:
            return await _by_session(connection, services, session)
        cookie_token = connection.cookies.get(TOKEN_COOKIE)
        method = connection.scope.get("method", "GET")
        if not header and cookie_token and method in SAFE_METHODS:
            # the dashboard's own reads (its live event stream, its export links): the cookie
            # is SameSite=Strict, and with no CSRF token it may only read
            header = f"Bearer {cookie_token}"
        scheme, _, token = header.partition(" ")
        if not header:
            raise NotAuthorizedException(
                "this route needs an 'Authorization: Bearer <token>' header or a signed-in session"
            )
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("the Authorization header must be 'Bearer <token>'")
        try:
            actor = await services.tokens.admit(token.strip())
        except TokenRefused as refused:  # checked on every request, along the token's lineage
            raise NotAuthorizedException(str(refused)) from None
        return AuthenticationResult(user=actor, auth=actor.id)


async def _by_session(
    connection: ASGIConnection[Any, Any, Any, Any], services: Any, secret: str
) -> AuthenticationResult:
    actor = await services.users.authenticate(secret)
    if actor is None:
        raise NotAuthorizedException("the session has ended or expired: sign in again")
    if connection.scope.get("method", "GET") not in SAFE_METHODS:
        require_csrf_token(connection, secret)
    return AuthenticationResult(user=actor, auth=secret)


def require_csrf_token(connection: ASGIConnection[Any, Any, Any, Any], secret: str) -> None:
    """Refuse (403) a change signed by the session cookie `secret` without its CSRF token."""
    if not tokens_match(connection.headers.get(CSRF_HEADER, ""), csrf_token(secret)):
        raise PermissionDeniedException(
            "a change signed by a session cookie needs its X-CSRF-Token header"
        )


def tokens_match(presented: str, expected: str) -> bool:
    """Compare a token a client sent in constant time. As bytes: compare_digest raises
    TypeError for a str with a non-ASCII character, and what a client sends may only fail."""
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def set_private_cookie(
    response: Response[Any],
    request: Request[Any, Any, Any],
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    """A cookie scripts cannot read and other sites' requests do not carry; Secure over https."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
        max_age=max_age,
    )


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    user = request.user
    assert isinstance(user, Actor)
    return user
