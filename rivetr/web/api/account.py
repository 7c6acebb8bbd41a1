"""The signed-in user's own account: sessions (and an admin revoking anyone's), the second
factor, and taking up an invitation. Sessions take a session or an admin-scoped token; the
second factor a session only (`access.authorize_account`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from rivetr.bootstrap import Services
from rivetr.domain.access import Actor, Permission, authorize_account
from rivetr.domain.teams import ROOT_TEAM
from rivetr.domain.users import SESSION_LIFETIME, normalise_email
from rivetr.projections.users import SessionListing
from rivetr.service.commands.users import csrf_token
from rivetr.web.auth import SESSION_COOKIE, require_csrf_token, set_private_cookie
from rivetr.web.openapi import problems

Code = Annotated[str, msgspec.Meta(min_length=6, max_length=32)]


class TotpSetup(msgspec.Struct, kw_only=True):
    secret: str  # base32, for typing in by hand
    otpauth_uri: str  # for a QR code


class CodeBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code


class CodeOptional(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code | None = None


class RecoveryCodes(msgspec.Struct, kw_only=True):
    recovery_codes: list[str]  # shown this once; each signs in once instead of a code


class AcceptRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    secret: Annotated[str, msgspec.Meta(min_length=8, max_length=200)]
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None  # for a new account


class Joined(msgspec.Struct, kw_only=True):
    team: str
    role: str
    user: str
    csrf_token: str | None  # set when the acceptance opened a new account and signed it in


class AccountController(Controller):
    path = "/"
    tags = ["account"]

    @get("/sessions")
    async def list_sessions(
        self, services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> list[SessionListing]:
        """One's own open sessions; an instance admin sees everyone's."""
        authorize_account(actor, "list sessions")
        if actor.can(Permission.MANAGE_MEMBERS, ROOT_TEAM):
            return await services.read.users.sessions()
        if actor.user is None:
            return []
        return await services.read.users.sessions(actor.user)

    @delete("/sessions/{session_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_session(
        self,
        session_id: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        authorize_account(actor, "end sessions")  # before a lookup tells which ids exist
        found = [s for s in await services.read.users.sessions() if s.session_id == session_id]
        if not found:
            raise NotFoundException(f"no open session {session_id!r}")
        await services.users.revoke_session(actor, found[0].user_id, session_id)

    @post("/account/totp", status_code=HTTP_200_OK)
    async def enroll_totp(
        self, services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> TotpSetup:
        authorize_account(actor, "second factor")
        secret, uri = await services.users.enroll_totp(actor)
        return TotpSetup(secret=secret, otpauth_uri=uri)

    @post("/account/totp/confirm", status_code=HTTP_200_OK)
    async def confirm_totp(
        self,
        data: JSONBody[CodeBody],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> RecoveryCodes:
        authorize_account(actor, "second factor")
        return RecoveryCodes(recovery_codes=await services.users.confirm_totp(actor, data.code))

    @post("/account/totp/disable", status_code=HTTP_204_NO_CONTENT)
    async def disable_own_totp(
        self,
        data: JSONBody[CodeOptional],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        authorize_account(actor, "second factor")  # before the code is looked at
        if actor.user is None:
            raise NotAuthorizedException("a second factor belongs to a user: sign in first")
        await services.users.disable_totp(actor, actor.user, data.code)

    @post("/users/{user_id:str}/totp/disable", status_code=HTTP_204_NO_CONTENT)
    async def disable_totp(
        self,
        user_id: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        """An instance admin turning off the second factor of a user who lost their device."""
        if normalise_email(user_id) == actor.user:  # one's own, by this route too
            authorize_account(actor, "second factor")
        await services.users.disable_totp(actor, user_id)


@post(
    "/invitations/accept",
    opt={"exclude_from_auth": True},
    tags=["account"],
    status_code=HTTP_200_OK,
    responses=problems(401, 403),  # sign in first, or choose a password; a CSRF token missing
)
async def accept_invitation(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    data: JSONBody[AcceptRequest],
) -> Response[Joined]:
    """Join a team by its one-time link's secret: signed in as the invited address, or, when
    no account exists for it yet, with a password for the new account (which is signed in)."""
    invitation = await services.teams.invitation(data.secret)
    session = request.cookies.get(SESSION_COOKIE)
    actor = await services.users.authenticate(session) if session else None
    new_secret = None
    if actor is not None and actor.user is not None:
        assert session is not None
        require_csrf_token(request, session)
        user_id = actor.user
    elif await services.users.exists(invitation.email):
        raise NotAuthorizedException(
            f"{invitation.email} has an account: sign in, then open the link again"
        )
    else:
        if not data.password:
            raise NotAuthorizedException("choose a password for the new account")
        user_id = await services.users.register(invitation.email, data.password, invitation)
        remote = request.client.host if request.client else None
        new_secret, _ = await services.users.sign_in(invitation.email, data.password, remote)
        actor = await services.users.authenticate(new_secret)
    assert actor is not None
    await services.teams.accept(data.secret, user_id, actor)
    response = Response(
        Joined(
            team=invitation.team,
            role=invitation.role,
            user=user_id,
            csrf_token=csrf_token(new_secret) if new_secret else None,
        )
    )
    if new_secret is not None:
        lifetime = int(SESSION_LIFETIME.total_seconds())
        set_private_cookie(response, request, SESSION_COOKIE, new_secret, max_age=lifetime)
    return response
