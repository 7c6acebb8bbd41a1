"""Setting up an instance: the one-time code a first run offers (only whoever can read the
service's log can claim the instance) and the accounts at the head of the default team."""

from __future__ import annotations

import secrets

from rivetr.domain.access import Actor
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.teams import TeamService
from rivetr.service.commands.tokens import TokenService
from rivetr.service.commands.users import UserService

# what a first run logs (its reader, `rivetr install`, finds the code in the journal by it)
SETUP_CODE_LOGGED = "no account yet: open /setup on the dashboard and give the code %s"


class SetupService:
    def __init__(
        self, read: ReadModel, users: UserService, teams: TeamService, tokens: TokenService
    ) -> None:
        self.read = read
        self.users = users
        self.teams = teams
        self.tokens = tokens
        self.code: str | None = None  # see offer

    async def offer(self) -> str | None:
        """On a first run (no account yet), the one-time code the dashboard's setup page asks
        for; None once an account exists (made meanwhile, perhaps by the CLI: the page
        closes)."""
        if await self.read.users.every():
            self.code = None
        elif self.code is None:
            self.code = secrets.token_urlsafe(12)
        return self.code

    def close(self) -> None:
        """The code was used: the setup page closes."""
        self.code = None

    async def create_admin(
        self, actor: Actor, email: str, password: str
    ) -> tuple[str, str, list[str]]:
        """An account at the head of the default team: its owner the first time (taking the
        tokens minted before any account), an admin after. Returns (user id, role, the ids of
        the tokens it took)."""
        first = not await self.read.users.every()
        user_id = await self.users.create(actor, email, password, "owner")
        role = await self.teams.make_instance_admin(actor, user_id)
        adopted = await self.tokens.adopt_ownerless(actor, user_id) if first else []
        return user_id, role, adopted
