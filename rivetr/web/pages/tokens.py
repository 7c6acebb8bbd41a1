"""The dashboard's API tokens: one's own (and those of the teams one manages the members of),
minting one with every option the API has (its secret shown this once), and revoking. Both go
through the token service, so the API's authorisation and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from litestar.status_codes import HTTP_201_CREATED

from rivetr.domain.errors import DomainError
from rivetr.projections.tokens import TokenView
from rivetr.service.commands.tokens import TokenService
from rivetr.service.queries.accounts import AccountReads
from rivetr.service.queries.teams import TeamReads
from rivetr.web.api.tokens import MintRequest
from rivetr.web.pages.forms import FieldProblems, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout

SCOPES = [
    ("read", "read: see apps, deployments and logs"),
    ("deploy", "deploy: read, and deploy or roll back"),
    ("admin", "admin: everything the team's admins may, but delete or hand the team over"),
]


class TokenForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    scope: str = "read"
    expires_in_days: str = ""
    team: str = ""
    project: str = ""


@dataclass(frozen=True)
class TokensPage:
    """The tokens page of the reader signed in, as it is or with what a form made of it."""

    layout: Layout
    account_reads: AccountReads
    team_reads: TeamReads

    async def shown(
        self,
        problems: FieldProblems | None = None,
        typed: dict[str, Any] | None = None,
        minted: tuple[TokenView, str] | None = None,
        status: int = 200,
    ) -> Response[Any]:
        """The page, with a refused form's `problems` and what was `typed`, or the token just
        `minted` and its secret."""
        actor = self.layout.actor
        try:
            listed = await self.account_reads.tokens(actor)
        except DomainError as exc:  # a read or deploy token signed in to the dashboard
            return self.layout.error(str(exc), exc.status)
        roles = await self.team_reads.roles(actor)
        teams = [(team, f"{team} ({role})") for team, role in sorted(roles.items())]
        now = datetime.now(UTC).isoformat()
        return self.layout.page(
            "tokens.html",
            status,
            tokens=[(t, _standing(t, now)) for t in reversed(listed)],
            scopes=SCOPES,
            teams=[("", "the one I can mint it for"), *teams] if len(teams) != 1 else teams,
            problems=problems or {},
            typed=typed or {},
            minted=minted,
        )


def provide_tokens_page(
    layout: NamedDependency[Layout],
    account_reads: NamedDependency[AccountReads],
    team_reads: NamedDependency[TeamReads],
) -> TokensPage:
    return TokensPage(layout, account_reads, team_reads)


class TokenPages(Controller):
    path = "/tokens"
    include_in_schema = False
    dependencies = {"page": Provide(provide_tokens_page, sync_to_thread=False)}

    @get("/")
    async def tokens_page(self, page: NamedDependency[TokensPage]) -> Response[Any]:
        return await page.shown()

    @post("/")
    async def mint(
        self,
        tokens: NamedDependency[TokenService],
        page: NamedDependency[TokensPage],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        """Mint a token: the page answers with its secret, this once (no redirect, so that a
        reload never shows it again: only its hash is kept)."""
        typed = msgspec.structs.asdict(data)
        del typed["csrf_token"]
        fields: dict[str, Any] = {
            "name": data.name.strip(),
            "scope": data.scope,
            "expires_in_days": data.expires_in_days.strip() or None,
            "team": data.team or None,
            "project": data.project.strip() or None,
        }

        async def mint() -> Response[Any]:
            asked = msgspec.convert(fields, MintRequest, strict=False)  # days come as text
            token_id, secret = await tokens.create(
                page.layout.actor,
                asked.name,
                asked.scope,
                asked.expires_in_days,
                asked.team,
                asked.project,
            )
            minted = await page.account_reads.minted(token_id)
            return await page.shown(minted=(minted, secret), status=HTTP_201_CREATED)

        async def refused(exc: Exception) -> Response[Any]:
            return await page.shown(problems_of(exc), typed, status=status_of(exc))

        return await submitted(page.layout, data.csrf_token, mint, refused)

    @post("/{token_id:str}/revoke")
    async def revoke(
        self,
        token_id: FromPath[str],
        tokens: NamedDependency[TokenService],
        page: NamedDependency[TokensPage],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        async def revoke() -> Response[Any]:
            await tokens.revoke(page.layout.actor, token_id)
            return Redirect("/tokens")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.shown({"revoke": str(exc)}, status=status_of(exc))

        return await submitted(page.layout, data.csrf_token, revoke, refused)


def _standing(token: TokenView, now: str) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"
