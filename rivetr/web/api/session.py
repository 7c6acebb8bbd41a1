"""Password sign-in for people: POST /api/v1/auth/login starts a session carried by an
HttpOnly, SameSite=Strict cookie and answers the CSRF token changes must carry;
POST /api/v1/auth/logout ends it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from rivetr.domain.users import SESSION_LIFETIME
from rivetr.service.commands.users import UserService, csrf_token
from rivetr.web.auth import SESSION_COOKIE, require_csrf_token, set_private_cookie
from rivetr.web.openapi import problems


class SignInRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    code: Annotated[str, msgspec.Meta(max_length=32)] | None = None  # TOTP or recovery code


class SignedIn(msgspec.Struct, kw_only=True):
    user: str
    expires_at: str
    csrf_token: str  # send it as X-CSRF-Token with every change made through the cookie


@post(
    "/auth/login",
    opt={"exclude_from_auth": True},
    tags=["auth"],
    status_code=HTTP_200_OK,
    responses=problems(401, 429),  # a wrong password or code; too many tries
)
async def sign_in(
    request: Request[Any, Any, Any],
    users: NamedDependency[UserService],
    data: JSONBody[SignInRequest],
) -> Response[SignedIn]:
    remote = request.client.host if request.client else None
    secret, session = await users.sign_in(data.email, data.password, remote, data.code)
    response = Response(
        SignedIn(user=session.user_id, expires_at=session.expires_at, csrf_token=csrf_token(secret))
    )
    lifetime = int(SESSION_LIFETIME.total_seconds())
    set_private_cookie(response, request, SESSION_COOKIE, secret, max_age=lifetime)
    return response


@post(
    "/auth/logout",
    opt={"exclude_from_auth": True},
    tags=["auth"],
    status_code=HTTP_204_NO_CONTENT,
    responses=problems(403),  # a session's sign-out without its CSRF token
)
async def sign_out(
    request: Request[Any, Any, Any], users: NamedDependency[UserService]
) -> Response[None]:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        require_csrf_token(request, secret)  # else any site could sign a visitor out
        await users.sign_out(secret)
    response = Response(None, status_code=HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
