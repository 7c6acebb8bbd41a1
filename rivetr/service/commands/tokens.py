"""API tokens: minting (the secret is returned once, only its hash is recorded), revoking, and
turning a presented bearer token into the Actor it stands for, once it and every token it
descends from are found in good standing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain import tokens
from rivetr.domain.access import SCOPE_NEEDS, Actor, authorize_account, home_team, token_actor
from rivetr.domain.aggregates import TOKENS
from rivetr.domain.commands import AssignTokenOwner, CreateToken, RevokeToken
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.events import TokenScope
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner
from rivetr.service.commands.handler import CommandHandler

TOKEN_PREFIX = "rvt_"


def hash_secret(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService:
    def __init__(
        self,
        handler: CommandHandler,
        read: ReadModel | None,
        store: EventStore,
        runner: ProjectionRunner | None,
    ) -> None:
        self.handler = handler
        self.read = read
        self.store = store
        self.runner = runner

    async def create(
        self,
        actor: Actor,
        name: str,
        scope: TokenScope = "admin",
        expires_in_days: int | None = None,
        team: str | None = None,
        project: str | None = None,
    ) -> tuple[str, str]:
        """Mint a token; return (token_id, secret). The secret is never stored. A user's token
        is theirs (`owner`) and acts in one team (`team`, or the one they can mint it for), with
        `project` in that project of it only; with `expires_in_days` it stops working after
        that many days. Minted by a token, it records that token as its parent, acts in its
        team (and project) and expires no later than it."""
        authorize_account(actor, "mint tokens")  # before the team is guessed: a clearer refusal
        token_id = secrets.token_hex(6)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        requested = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise InvalidCommand(
                    "a token's expiry is at least one day away", field="expires_in_days"
                )
            requested = (datetime.now(UTC) + timedelta(days=expires_in_days)).isoformat()
        by_token = actor.kind == "token"
        if team is None and (actor.user is not None or actor.team is not None):
            team = home_team(actor, SCOPE_NEEDS[scope])
        if project is None and by_token:
            project = actor.project
        command = CreateToken(
            token_id=token_id,
            name=name,
            secret_hash=hash_secret(secret),
            scope=scope,
            owner=actor.user,
            expires_at=tokens.capped_expiry(requested, actor.expires_at if by_token else None),
            team=team,
            parent_token_id=actor.id if by_token else None,
            project=project,
        )
        await self._run(actor, command)
        return token_id, secret

    async def revoke(self, actor: Actor, token_id: str) -> None:
        await self._run(actor, RevokeToken(token_id=token_id))

    async def adopt_ownerless(self, actor: Actor, owner: str) -> list[str]:
        """Give every live token without an owner (the CLI's, minted before any account) to
        `owner`, in the default team; return their ids."""
        assert self.read is not None
        adopted = []
        for view in await self.read.tokens.every():
            if view.owner is None and view.revoked_at is None:
                command = AssignTokenOwner(token_id=view.token_id, owner=owner, team=ROOT_TEAM)
                await self._run(actor, command)
                adopted.append(view.token_id)
        return adopted

    async def _run(self, actor: Actor, command: tokens.TokenCommand) -> None:
        await self.handler.execute(
            actor,
            command,
            TOKENS,
            command.token_id,
        )

    async def authenticate(self, presented: str) -> Actor | None:
        """The actor a bearer token stands for, or None when it stands for nobody."""
        try:
            return await self.admit(presented)
        except tokens.TokenRefused:
            return None

    async def admit(self, presented: str) -> Actor:
        """The actor a bearer token stands for.

        A token minted a moment ago by the CLI (another process) may not be in the read model
        yet: on a miss, catch up with the log once before saying no.

        Raises:
            TokenRefused: unknown, or it or a token it descends from is revoked, expired or
                minted in a membership that has ended; the message says which.
        """
        if not presented.startswith(TOKEN_PREFIX) or self.read is None:
            raise tokens.TokenRefused("unknown token")
        digest = hash_secret(presented)
        view = await self.read.tokens.by_hash(digest)
        if view is None and self.runner is not None:
            head = await self.store.head()
            if head > self.runner.position:
                await self.runner.wait_until(head, timeout=3.0)
            # looked up again even when the runner is level now: it may have got there since
            view = await self.read.tokens.by_hash(digest)
        # The lookup is by the SHA-256 of the secret: timing reveals nothing an attacker can
        # steer towards a real token, so no constant-time compare is needed here.
        if view is None:
            raise tokens.TokenRefused("unknown token")
        chain = await self.read.tokens.chain(view.token_id)
        reason = tokens.refusal(chain, datetime.now(UTC))
        if reason is not None:
            raise tokens.TokenRefused(reason)
        teams = self.read.teams
        memberships = await teams.memberships_of(view.owner) if view.owner else {}
        project_roles = await teams.project_roles_of(view.owner) if view.owner else {}
        expires_at = tokens.effective_expiry(chain)
        return token_actor(
            view.token_id,
            view.name,
            view.scope,
            view.owner,
            view.team,
            memberships,
            expires_at,
            project_roles=project_roles,
            project=view.project,
        )
