"""The dashboard's teams: the teams one belongs to (with one's role) and a form to create one,
and a team's page: members and their roles (in the team, and in single projects), invitations,
handing over and deleting. The changes are forms in `team_actions.py`; both go through the team
service, as the API does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.commands import TeamSlug
from rivetr.service.commands.teams import TeamService
from rivetr.service.queries.refusals import Absent
from rivetr.service.queries.teams import TeamReads
from rivetr.web.api.teams import NewTeam
from rivetr.web.pages.forms import Act, FieldProblems, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout

ROLES = [
    ("viewer", "Viewer"),
    ("developer", "Developer"),
    ("admin", "Admin"),
    ("guest", "Guest: only what project roles give"),
]
PROJECT_ROLES = [
    ("viewer", "Viewer"),
    ("developer", "Developer"),
    ("admin", "Admin"),
    ("none", "None: kept out of the project"),
]


class TeamForm(msgspec.Struct):
    csrf_token: str = ""
    team: str = ""
    name: str = ""


class TeamPages(Controller):
    path = "/teams"
    include_in_schema = False

    @get("/")
    async def teams_page(
        self, layout: NamedDependency[Layout], team_reads: NamedDependency[TeamReads]
    ) -> Template:
        return await _teams_page(layout, team_reads)

    @post("/")
    async def create_team(
        self,
        layout: NamedDependency[Layout],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        data: URLEncodedBody[TeamForm],
    ) -> Response[Any]:
        typed = {"team": data.team.strip(), "name": data.name.strip()}

        async def create() -> Response[Any]:
            asked = msgspec.convert(typed, NewTeam)
            await teams.create(layout.actor, asked.team, asked.name)
            return Redirect(f"/teams/{asked.team}")

        async def refused(exc: Exception) -> Response[Any]:
            return await _teams_page(layout, team_reads, problems_of(exc), typed, status_of(exc))

        return await submitted(layout, data.csrf_token, create, refused)

    @get("/{team:str}")
    async def team_page(
        self,
        team: FromPath[str],
        layout: NamedDependency[Layout],
        team_reads: NamedDependency[TeamReads],
    ) -> Template:
        return await TeamPage(layout, team_reads, team).shown()


async def _teams_page(
    layout: Layout,
    team_reads: TeamReads,
    problems: FieldProblems | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    actor = layout.actor
    return layout.page(
        "teams.html",
        status,
        teams=await team_reads.visible(actor),
        roles=await team_reads.roles(actor),
        can_create=actor.user is not None,  # a team is owned by the user who creates it
        problems=problems or {},
        typed=typed or {},
    )


class Shown(msgspec.Struct, kw_only=True):
    """What a team's page shows besides the team: a form refused (its name, its problems and
    what was typed), or the link of an invitation just made (shown this once)."""

    form: str = ""
    problems: FieldProblems = msgspec.field(default_factory=dict)
    typed: dict[str, str] = msgspec.field(default_factory=dict)
    invited: dict[str, str] | None = None
    status: int = 200


@dataclass(frozen=True)
class TeamPage:
    """A team's page, as it is or with what a form made of it."""

    layout: Layout
    team_reads: TeamReads
    team: str

    async def shown(self, shown: Shown | None = None) -> Template:
        """The page, with what a form made of it (`shown`), if anything."""
        shown = shown or Shown()
        layout, actor, team = self.layout, self.layout.actor, self.team
        try:
            slug = msgspec.convert(team, TeamSlug)
            detail = await self.team_reads.detail(actor, slug)
        except (msgspec.ValidationError, Absent):
            return layout.error(f"No team named {team!r}.")
        owner = detail.team.owner
        return layout.page(
            "team.html",
            shown.status,
            detail=detail,
            manages=actor.can(Permission.MANAGE_MEMBERS, slug),
            owns=actor.can(Permission.OWN_TEAM, slug),
            roles=ROLES,
            project_roles=PROJECT_ROLES,
            members=[(m.user_id, m.user_id) for m in detail.members if m.user_id != owner],
            heirs=[(m.user_id, m.user_id) for m in detail.members if m.user_id != owner],
            open_invitations=[i for i in detail.invitations if i.status == "open"],
            shown=shown,
        )

    async def submitted(
        self, presented: str, act: Act, form: str, typed: dict[str, str]
    ) -> Response[Any]:
        """What `act` answers, or the page again with the refusal beside `form`'s fields and
        what was `typed`."""

        async def refused(exc: Exception) -> Response[Any]:
            problems, status = problems_of(exc), status_of(exc)
            return await self.shown(Shown(form=form, problems=problems, typed=typed, status=status))

        return await submitted(self.layout, presented, act, refused)


__all__ = ["PROJECT_ROLES", "ROLES", "Shown", "TeamPage", "TeamPages"]
