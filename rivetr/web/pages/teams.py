"""The dashboard's teams: the teams one belongs to (with one's role) and a form to create one,
and a team's page: members and their roles, invitations, handing over and deleting. The
changes are forms in `team_actions.py`; both go through the team service, as the API does."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, Permission
from rivetr.domain.commands import TeamSlug
from rivetr.domain.errors import DomainError
from rivetr.service.commands.teams import TeamService
from rivetr.service.queries.refusals import Absent
from rivetr.service.queries.teams import TeamReads
from rivetr.web.api.teams import NewTeam
from rivetr.web.pages.forms import FieldProblems, problems_of, stale, status_of
from rivetr.web.pages.guard import csrf_of, error_page

ROLES = [("viewer", "Viewer"), ("developer", "Developer"), ("admin", "Admin")]


class TeamForm(msgspec.Struct):
    csrf_token: str = ""
    team: str = ""
    name: str = ""


class TeamPages(Controller):
    path = "/teams"
    include_in_schema = False

    @get("/")
    async def teams_page(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        return await _teams_page(request, actor, team_reads, engine)

    @post("/")
    async def create_team(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[TeamForm],
    ) -> Response[Any]:
        if (refused := stale(request, data.csrf_token, engine)) is not None:
            return refused
        typed = {"team": data.team.strip(), "name": data.name.strip()}
        try:
            asked = msgspec.convert(typed, NewTeam)
            await teams.create(actor, asked.team, asked.name)
        except (msgspec.ValidationError, DomainError) as exc:
            return await _teams_page(
                request, actor, team_reads, engine, problems_of(exc), typed, status_of(exc)
            )
        return Redirect(f"/teams/{asked.team}")

    @get("/{team:str}")
    async def team_page(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[str],
        actor: NamedDependency[Actor],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        return await team_page(request, actor, team_reads, engine, team)


async def _teams_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    team_reads: TeamReads,
    engine: EngineMonitor,
    problems: FieldProblems | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    context = {
        "actor": actor,
        "engine": engine,
        "csrf_token": csrf_of(request),
        "teams": await team_reads.visible(actor),
        "roles": await team_reads.roles(actor),
        "can_create": actor.user is not None,  # a team is owned by the user who creates it
        "problems": problems or {},
        "typed": typed or {},
    }
    return Template("teams.html", context=context, status_code=status)


class Shown(msgspec.Struct, kw_only=True):
    """What a team's page shows besides the team: a form refused (its name, its problems and
    what was typed), or the link of an invitation just made (shown this once)."""

    form: str = ""
    problems: FieldProblems = msgspec.field(default_factory=dict)
    typed: dict[str, str] = msgspec.field(default_factory=dict)
    invited: dict[str, str] | None = None
    status: int = 200


async def team_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    team_reads: TeamReads,
    engine: EngineMonitor,
    team: str,
    shown: Shown | None = None,
) -> Template:
    shown = shown or Shown()
    try:
        slug = msgspec.convert(team, TeamSlug)
        detail = await team_reads.detail(actor, slug)
    except (msgspec.ValidationError, Absent):
        return error_page(engine, f"No team named {team!r}.")
    owner = detail.team.owner
    context = {
        "actor": actor,
        "engine": engine,
        "csrf_token": csrf_of(request),
        "detail": detail,
        "manages": actor.can(Permission.MANAGE_MEMBERS, slug),
        "owns": actor.can(Permission.OWN_TEAM, slug),
        "roles": ROLES,
        "heirs": [(m.user_id, m.user_id) for m in detail.members if m.user_id != owner],
        "open_invitations": [i for i in detail.invitations if i.status == "open"],
        "shown": shown,
    }
    return Template("team.html", context=context, status_code=shown.status)


def refused(form: str, exc: Exception, typed: dict[str, str] | None = None) -> Shown:
    """A team page form refused by the server: its problems beside its fields."""
    return Shown(form=form, problems=problems_of(exc), typed=typed or {}, status=status_of(exc))


__all__ = ["ROLES", "Shown", "TeamPages", "refused", "team_page"]
