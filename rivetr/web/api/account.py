"""The signed-in user's own account: sessions (and an admin revoking anyone's), the second
factor, and taking up an invitation. Sessions take a session or an admin-scoped token; the
second factor a session only (`access.authorize_account`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor, authorize_account
from rivetr.domain.users import SESSION_LIFETIME, normalise_email
from rivetr.projections.users import SessionListing
from rivetr.service.commands.joining import InvitationJoining, PasswordNeeded, SignInFirst
from rivetr.service.commands.users import UserService, csrf_token
from rivetr.service.queries.accounts import AccountReads
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
        self, account_reads: NamedDependency[AccountReads], actor: NamedDependency[Actor]
    ) -> list[SessionListing]:
        """One's own open sessions; an instance admin sees everyone's."""
        return await account_reads.sessions(actor)

    @delete("/sessions/{session_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_session(
        self,
        session_id: FromPath[str],
        users: NamedDependency[UserService],
        account_reads: NamedDependency[AccountReads],
        actor: NamedDependency[Actor],
    ) -> None:
        found = await account_reads.session(actor, session_id)
        await users.revoke_session(actor, found.user_id, session_id)

    @post("/account/totp", status_code=HTTP_200_OK)
    async def enroll_totp(
        self, users: NamedDependency[UserService], actor: NamedDependency[Actor]
    ) -> TotpSetup:
        authorize_account(actor, "second factor")
        secret, uri = await users.enroll_totp(actor)
        return TotpSetup(secret=secret, otpauth_uri=uri)

    @post("/account/totp/confirm", status_code=HTTP_200_OK)
    async def confirm_totp(
        self,
        data: JSONBody[CodeBody],
        users: NamedDependency[UserService],
        actor: NamedDependency[Actor],
    ) -> RecoveryCodes:
        authorize_account(actor, "second factor")
        return RecoveryCodes(recovery_codes=await users.confirm_totp(actor, data.code))

    @post("/account/totp/disable", status_code=HTTP_204_NO_CONTENT)
    async def disable_own_totp(
        self,
        data: JSONBody[CodeOptional],
        users: NamedDependency[UserService],
        actor: NamedDependency[Actor],
    ) -> None:
        authorize_account(actor, "second factor")  # before the code is looked at
        if actor.user is None:
            raise NotAuthorizedException("a second factor belongs to a user: sign in first")
        await users.disable_totp(actor, actor.user, data.code)

    @post("/users/{user_id:str}/totp/disable", status_code=HTTP_204_NO_CONTENT)
    async def disable_totp(
        self,
        user_id: FromPath[str],
        users: NamedDependency[UserService],
        actor: NamedDependency[Actor],
    ) -> None:
        """An instance admin turning off the second factor of a user who lost their device."""
        if normalise_email(user_id) == actor.user:  # one's own, by this route too
            authorize_account(actor, "second factor")
        await users.disable_totp(actor, user_id)


@post(
    "/invitations/accept",
    opt={"exclude_from_auth": True},
    tags=["account"],
    status_code=HTTP_200_OK,
    responses=problems(401, 403),  # sign in first, or choose a password; a CSRF token missing
)
async def accept_invitation(
    request: Request[Any, Any, Any],
    users: NamedDependency[UserService],
    joining: NamedDependency[InvitationJoining],
    data: JSONBody[AcceptRequest],
) -> Response[Joined]:
    """Join a team by its one-time link's secret: signed in as the invited address, or, when
    no account exists for it yet, with a password for the new account (which is signed in)."""
    await joining.invitation(data.secret)  # a link that opens nothing says so first
    session = request.cookies.get(SESSION_COOKIE)
    actor = await users.authenticate(session) if session else None
    if actor is not None and actor.user is not None:
        assert session is not None
        require_csrf_token(request, session)
    remote = request.client.host if request.client else None
    try:
        joined = await joining.join(data.secret, actor, data.password or None, remote)
    except SignInFirst as refused:
        raise NotAuthorizedException(
            f"{refused.email} has an account: sign in, then open the link again"
        ) from None
    except PasswordNeeded as refused:
        raise NotAuthorizedException(str(refused)) from None
    response = Response(
        Joined(
            team=joined.invitation.team,
            role=joined.invitation.role,
            user=joined.user_id,
            csrf_token=csrf_token(joined.session) if joined.session else None,
        )
    )
    if joined.session is not None:
        lifetime = int(SESSION_LIFETIME.total_seconds())
        set_private_cookie(response, request, SESSION_COOKIE, joined.session, max_age=lifetime)
    return response
