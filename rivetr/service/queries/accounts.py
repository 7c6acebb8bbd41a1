"""Reading accounts' tokens and sessions as an actor may: one's own, and those of the teams
(or the instance) one manages the members of."""

from __future__ import annotations

from rivetr.domain.access import Actor, Permission, authorize_account
from rivetr.domain.errors import Forbidden
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.registry import ReadModel
from rivetr.projections.tokens import TokenView
from rivetr.projections.users import SessionListing, UserView
from rivetr.service.commands.tokens import hash_secret
from rivetr.service.queries.refusals import Absent


class AccountReads:
    def __init__(self, read: ReadModel) -> None:
        self.read = read

    async def tokens(self, actor: Actor) -> list[TokenView]:
        """One's own tokens, and those of the teams one manages the members of."""
        authorize_account(actor, "list tokens")
        return [
            token
            for token in await self.read.tokens.every()
            if (actor.user is not None and token.owner == actor.user)
            or actor.can(Permission.MANAGE_MEMBERS, token.team or ROOT_TEAM)
        ]

    async def users(self, actor: Actor) -> list[UserView]:
        """Every account, for an instance admin."""
        if not actor.administers_instance():
            raise Forbidden(f"{actor.label} does not administer this instance")
        return await self.read.users.every()

    async def minted(self, token_id: str) -> TokenView:
        """A token the actor has just minted."""
        return next(t for t in await self.read.tokens.every() if t.token_id == token_id)

    async def sessions(self, actor: Actor) -> list[SessionListing]:
        """One's own open sessions; an instance admin sees everyone's."""
        authorize_account(actor, "list sessions")
        if actor.can(Permission.MANAGE_MEMBERS, ROOT_TEAM):
            return await self.read.users.sessions()
        if actor.user is None:
            return []
        return await self.read.users.sessions(actor.user)

    async def current_session(self, secret: str) -> str | None:
        """The id of the session a cookie's secret stands for (to mark it among the others)."""
        found = await self.read.users.session_by_hash(hash_secret(secret))
        return found.session_id if found is not None else None

    async def session(self, actor: Actor, session_id: str) -> SessionListing:
        """An open session, to end it (the command then says whether the actor may)."""
        authorize_account(actor, "end sessions")  # before a lookup tells which ids exist
        found = [s for s in await self.read.users.sessions() if s.session_id == session_id]
        if not found:
            raise Absent(f"no open session {session_id!r}")
        return found[0]
