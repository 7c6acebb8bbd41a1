"""Joining a team by an invitation's one-time link: as the signed-in account it is addressed
to, or by opening that address's account (which is then signed in). The API and the dashboard
both join through here; only how they answer a refusal differs."""

from __future__ import annotations

import msgspec

from rivetr.domain.access import Actor
from rivetr.domain.errors import DomainError
from rivetr.projections.teams import InvitationView
from rivetr.service.commands.teams import TeamService
from rivetr.service.commands.users import UserService


class SignInFirst(DomainError):
    """The invited address has an account: whoever joins must be signed in to it."""

    title = "Unauthorized"
    status = 401

    def __init__(self, email: str) -> None:
        super().__init__(f"{email} has an account")
        self.email = email


class PasswordNeeded(DomainError):
    title = "Unauthorized"
    status = 401


class Joined(msgspec.Struct, frozen=True, kw_only=True):
    invitation: InvitationView
    user_id: str
    session: str | None  # the new account's session secret, when joining opened one


class InvitationJoining:
    def __init__(self, users: UserService, teams: TeamService) -> None:
        self.users = users
        self.teams = teams

    async def invitation(self, secret: str) -> InvitationView:
        """The open invitation a link's secret stands for (refused: NotFound, or expired)."""
        return await self.teams.invitation(secret)

    async def join(
        self,
        secret: str,
        signed_in: Actor | None,
        password: str | None,
        remote: str | None,
    ) -> Joined:
        """Join as `signed_in` when it is a user's session, else open the invited address's
        account with `password` and sign it in.

        Raises:
            SignInFirst: the address has an account and nobody is signed in to it.
            PasswordNeeded: a new account, and `password` is None.
        """
        invitation = await self.invitation(secret)
        session = None
        actor = signed_in if signed_in is not None and signed_in.user is not None else None
        if actor is None:
            if await self.users.exists(invitation.email):
                raise SignInFirst(invitation.email)
            if password is None:
                raise PasswordNeeded("choose a password for the new account")
            user_id = await self.users.register(invitation.email, password, invitation)
            session, _ = await self.users.sign_in(user_id, password, remote)
            actor = await self.users.authenticate(session)
            assert actor is not None
        assert actor.user is not None
        await self.teams.accept(secret, actor.user, actor)
        return Joined(invitation=invitation, user_id=actor.user, session=session)
