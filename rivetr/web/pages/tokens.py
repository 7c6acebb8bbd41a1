"""The dashboard's API tokens: one's own (and those of the teams one manages the members of),
minting one with every option the API has (its secret shown this once), and revoking. Both go
through the token service, so the API's authorisation and events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_201_CREATED

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.errors import DomainError
from rivetr.projections.tokens import TokenView
from rivetr.service.commands.tokens import TokenService
from rivetr.service.queries.accounts import AccountReads
from rivetr.service.queries.teams import TeamReads
from rivetr.web.api.tokens import MintRequest
from rivetr.web.pages.forms import FieldProblems, problems_of, stale, status_of
from rivetr.web.pages.guard import csrf_of, error_page

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


class TokenPages(Controller):
    path = "/tokens"
    include_in_schema = False

    @get("/")
    async def tokens_page(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        account_reads: NamedDependency[AccountReads],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Response[Any]:
        return await _tokens_page(request, actor, account_reads, team_reads, engine)

    @post("/")
    async def mint(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        tokens: NamedDependency[TokenService],
        account_reads: NamedDependency[AccountReads],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        """Mint a token: the page answers with its secret, this once (no redirect, so that a
        reload never shows it again: only its hash is kept)."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        typed = msgspec.structs.asdict(data)
        del typed["csrf_token"]
        fields: dict[str, Any] = {
            "name": data.name.strip(),
            "scope": data.scope,
            "expires_in_days": data.expires_in_days.strip() or None,
            "team": data.team or None,
        }
        try:
            asked = msgspec.convert(fields, MintRequest, strict=False)  # days come as text
            token_id, secret = await tokens.create(
                actor, asked.name, asked.scope, asked.expires_in_days, asked.team
            )
        except (msgspec.ValidationError, DomainError) as exc:
            return await _tokens_page(
                request,
                actor,
                account_reads,
                team_reads,
                engine,
                problems_of(exc),
                typed,
                status=status_of(exc),
            )
        minted = await account_reads.minted(token_id)
        return await _tokens_page(
            request,
            actor,
            account_reads,
            team_reads,
            engine,
            minted=(minted, secret),
            status=HTTP_201_CREATED,
        )

    @post("/{token_id:str}/revoke")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        token_id: FromPath[str],
        actor: NamedDependency[Actor],
        tokens: NamedDependency[TokenService],
        account_reads: NamedDependency[AccountReads],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        try:
            await tokens.revoke(actor, token_id)
        except DomainError as exc:
            return await _tokens_page(
                request,
                actor,
                account_reads,
                team_reads,
                engine,
                {"revoke": str(exc)},
                status=status_of(exc),
            )
        return Redirect("/tokens")


async def _tokens_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    account_reads: AccountReads,
    team_reads: TeamReads,
    engine: EngineMonitor,
    problems: FieldProblems | None = None,
    typed: dict[str, Any] | None = None,
    minted: tuple[TokenView, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    try:
        listed = await account_reads.tokens(actor)
    except DomainError as exc:  # a read or deploy token signed in to the dashboard
        return error_page(engine, str(exc), exc.status)
    roles = await team_reads.roles(actor)
    teams = [(team, f"{team} ({role})") for team, role in sorted(roles.items())]
    now = datetime.now(UTC).isoformat()
    context = {
        "actor": actor,
        "engine": engine,
        "csrf_token": csrf_of(request),
        "tokens": [(t, _standing(t, now)) for t in reversed(listed)],
        "scopes": SCOPES,
        "teams": [("", "the one I can mint it for"), *teams] if len(teams) != 1 else teams,
        "problems": problems or {},
        "typed": typed or {},
        "minted": minted,
    }
    return Template("tokens.html", context=context, status_code=status)


def _standing(token: TokenView, now: str) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"
