"""Bearer-token authentication for /api/v1: the token's identity becomes `request.user`, the
Actor recorded on every event the request causes."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from rivetr.domain.access import Actor


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise NotAuthorizedException(
                "this route needs an 'Authorization: Bearer <token>' header"
            )
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("the Authorization header must be 'Bearer <token>'")
        services = connection.app.state.services
        actor = await services.tokens.authenticate(token.strip())
        if actor is None:
            raise NotAuthorizedException("unknown or revoked token")
        return AuthenticationResult(user=actor, auth=actor.id)


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    user = request.user
    assert isinstance(user, Actor)
    return user
