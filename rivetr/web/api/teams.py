"""/api/v1/teams: teams, their members and roles, invitations by one-time link, handing a team
over and deleting it. Every change is a command through the team service, authorised there."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.bootstrap import Services
from rivetr.domain.access import Actor, Permission
from rivetr.domain.commands import Email, InvitableRole, TeamSlug
from rivetr.projections.teams import InvitationView, MemberView, TeamView


class NewTeam(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    team: TeamSlug
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    owner: str | None = None  # for callers that are not a user (the CLI's tokens)


class TeamDetail(msgspec.Struct, kw_only=True):
    team: TeamView
    members: list[MemberView]
    invitations: list[InvitationView]  # only for those who manage members; never the secrets


class NewInvitation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    role: InvitableRole = "developer"


class InvitationLink(msgspec.Struct, kw_only=True):
    invitation_id: str
    link: str  # shown this once: whoever holds it can join as the invited address
    expires_at: str


class RoleChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: InvitableRole


class Transfer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to_user: str


class TeamsController(Controller):
    path = "/teams"
    tags = ["teams"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_team(
        self,
        data: JSONBody[NewTeam],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        await services.teams.create(actor, data.team, data.name, data.owner)
        owner = msgspec.structs.replace(
            actor, teams={**actor.teams, data.team: frozenset(Permission)}
        )
        return await _detail(services, owner, data.team)  # the request's actor predates the team

    @get("/")
    async def list_teams(
        self, services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> list[TeamView]:
        return await services.read.teams.every(actor.readable_teams())

    @get("/{team:str}")
    async def get_team(
        self,
        team: FromPath[TeamSlug],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        return await _detail(services, actor, team)

    @delete("/{team:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_team(
        self,
        team: FromPath[TeamSlug],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        await services.teams.delete(actor, team)

    @post("/{team:str}/transfer", status_code=HTTP_200_OK)
    async def transfer(
        self,
        team: FromPath[TeamSlug],
        data: JSONBody[Transfer],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        await services.teams.transfer(actor, team, data.to_user)
        return await _detail(services, actor, team)

    @patch("/{team:str}/members/{user_id:str}")
    async def change_role(
        self,
        team: FromPath[TeamSlug],
        user_id: FromPath[str],
        data: JSONBody[RoleChange],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        await services.teams.change_role(actor, team, user_id, data.role)
        return await _detail(services, actor, team)

    @delete("/{team:str}/members/{user_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove_member(
        self,
        team: FromPath[TeamSlug],
        user_id: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        await services.teams.remove_member(actor, team, user_id)

    @post("/{team:str}/invitations", status_code=HTTP_201_CREATED)
    async def invite(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[TeamSlug],
        data: JSONBody[NewInvitation],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> InvitationLink:
        invited = await services.teams.invite(actor, team, data.email, data.role)
        return InvitationLink(
            invitation_id=invited.invitation_id,
            link=str(request.url_for("accept_page", secret=invited.secret)),
            expires_at=invited.expires_at,
        )

    @delete("/{team:str}/invitations/{invitation_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_invitation(
        self,
        team: FromPath[TeamSlug],
        invitation_id: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> None:
        await services.teams.revoke_invitation(actor, team, invitation_id)


async def _detail(services: Services, actor: Actor, team: str) -> TeamDetail:
    """A team its members (and whoever reads every team) may see; to anyone else it is absent."""
    found = await services.read.teams.every([team])
    if not found or not actor.can(Permission.READ, team):
        raise NotFoundException(f"no team {team!r}")
    manages = actor.can(Permission.MANAGE_MEMBERS, team)
    return TeamDetail(
        team=found[0],
        members=await services.read.teams.members(team),
        invitations=await services.read.teams.invitations(team) if manages else [],
    )
