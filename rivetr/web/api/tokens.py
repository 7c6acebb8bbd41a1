"""/api/v1/tokens: mint (the secret is answered once), list (never secrets) and revoke API
tokens. A signed-in user's tokens are theirs (`owner`) and act in one team; these routes take a
session or an admin-scoped token (a token may always revoke itself)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor
from rivetr.domain.commands import Slug, TeamSlug
from rivetr.domain.events import TokenScope
from rivetr.projections.tokens import TokenView
from rivetr.service.commands.tokens import TokenService
from rivetr.service.queries.accounts import AccountReads


class MintRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scope: TokenScope = "read"
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    team: TeamSlug | None = None  # default: the one team the caller can mint it for
    project: Slug | None = None  # the one project of the team it acts in (default: all)


class Minted(msgspec.Struct, kw_only=True):
    token_id: str
    token: str  # shown this once; only its SHA-256 is kept
    scope: TokenScope
    expires_at: str | None  # no later than the minting token's, when a token minted it
    team: str | None
    parent_token_id: str | None  # the token that minted it: revoking that one ends this one
    project: str | None = None  # the one project of its team it acts in (None: all of them)


class TokensController(Controller):
    path = "/tokens"
    tags = ["tokens"]

    @post("/", status_code=HTTP_201_CREATED)
    async def mint(
        self,
        tokens: NamedDependency[TokenService],
        account_reads: NamedDependency[AccountReads],
        actor: NamedDependency[Actor],
        data: JSONBody[MintRequest],
    ) -> Minted:
        token_id, secret = await tokens.create(
            actor, data.name, data.scope, data.expires_in_days, data.team, data.project
        )
        view = await account_reads.minted(token_id)
        return Minted(
            token_id=token_id,
            token=secret,
            scope=data.scope,
            expires_at=view.expires_at,
            team=view.team,
            parent_token_id=view.parent_token_id,
            project=view.project,
        )

    @get("/")
    async def list_tokens(
        self, account_reads: NamedDependency[AccountReads], actor: NamedDependency[Actor]
    ) -> list[TokenView]:
        """One's own tokens, and those of the teams one manages the members of."""
        return await account_reads.tokens(actor)

    @delete("/{token_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self,
        token_id: FromPath[str],
        tokens: NamedDependency[TokenService],
        actor: NamedDependency[Actor],
    ) -> None:
        await tokens.revoke(actor, token_id)
