"""/api/v1/teams: teams, their members and roles, invitations by one-time link, handing a team
over and deleting it, and what an instance admin allows the team's compose stacks. Every change
is a command through the team's (or the allowances') service, authorised there."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor, Permission
from rivetr.domain.commands import Email, InvitableRole, Slug, TeamSlug
from rivetr.domain.compose.allowances import Allowances, Namespace
from rivetr.domain.events import ProjectRole
from rivetr.projections.stack_allowances import StackAllowancesView
from rivetr.projections.teams import TeamView
from rivetr.service.commands.stack_allowances import StackAllowanceService
from rivetr.service.commands.teams import TeamService
from rivetr.service.queries.teams import TeamDetail, TeamReads


class AllowancesBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`Allowances` as a request names them: its sets as lists, a name given twice counted
    once (a set's schema would promise unique items that a decoder quietly merges)."""

    privileged: bool = False
    cap_add: list[str] = msgspec.field(default_factory=list)
    devices: bool = False
    host_namespaces: list[Namespace] = msgspec.field(default_factory=list)
    unconfined: bool = False
    bind_prefixes: list[str] = msgspec.field(default_factory=list)
    low_ports: bool = False


class NewTeam(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    team: TeamSlug
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    owner: str | None = None  # for callers that are not a user (the CLI's tokens)


class NewInvitation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    role: InvitableRole = "developer"


class InvitationLink(msgspec.Struct, kw_only=True):
    invitation_id: str
    link: str  # shown this once: whoever holds it can join as the invited address
    expires_at: str


class RoleChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: InvitableRole


class ProjectRoleChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: ProjectRole  # "none": no access to the project at all


class Transfer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to_user: str


class TeamsController(Controller):
    path = "/teams"
    tags = ["teams"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_team(
        self,
        data: JSONBody[NewTeam],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        await teams.create(actor, data.team, data.name, data.owner)
        owner = msgspec.structs.replace(
            actor, teams={**actor.teams, data.team: frozenset(Permission)}
        )
        return await team_reads.detail(owner, data.team)  # the request's actor predates the team

    @get("/")
    async def list_teams(
        self, team_reads: NamedDependency[TeamReads], actor: NamedDependency[Actor]
    ) -> list[TeamView]:
        return await team_reads.visible(actor)

    @get("/{team:str}")
    async def get_team(
        self,
        team: FromPath[TeamSlug],
        team_reads: NamedDependency[TeamReads],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        return await team_reads.detail(actor, team)

    @delete("/{team:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_team(
        self,
        team: FromPath[TeamSlug],
        teams: NamedDependency[TeamService],
        actor: NamedDependency[Actor],
    ) -> None:
        await teams.delete(actor, team)

    @post("/{team:str}/transfer", status_code=HTTP_200_OK)
    async def transfer(
        self,
        team: FromPath[TeamSlug],
        data: JSONBody[Transfer],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        await teams.transfer(actor, team, data.to_user)
        return await team_reads.detail(actor, team)

    @patch("/{team:str}/members/{user_id:str}")
    async def change_role(
        self,
        team: FromPath[TeamSlug],
        user_id: FromPath[str],
        data: JSONBody[RoleChange],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        await teams.change_role(actor, team, user_id, data.role)
        return await team_reads.detail(actor, team)

    @put("/{team:str}/members/{user_id:str}/projects/{project:str}")
    async def set_project_role(
        self,
        team: FromPath[TeamSlug],
        user_id: FromPath[str],
        project: FromPath[Slug],
        data: JSONBody[ProjectRoleChange],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        actor: NamedDependency[Actor],
    ) -> TeamDetail:
        """Give the member this role in the project, in place of their team role there."""
        await teams.set_project_role(actor, team, user_id, project, data.role)
        return await team_reads.detail(actor, team)

    @delete(
        "/{team:str}/members/{user_id:str}/projects/{project:str}",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove_project_role(
        self,
        team: FromPath[TeamSlug],
        user_id: FromPath[str],
        project: FromPath[Slug],
        teams: NamedDependency[TeamService],
        actor: NamedDependency[Actor],
    ) -> None:
        """The member's team role applies in the project again."""
        await teams.set_project_role(actor, team, user_id, project, None)

    @delete("/{team:str}/members/{user_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove_member(
        self,
        team: FromPath[TeamSlug],
        user_id: FromPath[str],
        teams: NamedDependency[TeamService],
        actor: NamedDependency[Actor],
    ) -> None:
        await teams.remove_member(actor, team, user_id)

    @post("/{team:str}/invitations", status_code=HTTP_201_CREATED)
    async def invite(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[TeamSlug],
        data: JSONBody[NewInvitation],
        teams: NamedDependency[TeamService],
        actor: NamedDependency[Actor],
    ) -> InvitationLink:
        invited = await teams.invite(actor, team, data.email, data.role)
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
        teams: NamedDependency[TeamService],
        actor: NamedDependency[Actor],
    ) -> None:
        await teams.revoke_invitation(actor, team, invitation_id)

    @get("/{team:str}/stack-allowances")
    async def get_stack_allowances(
        self,
        team: FromPath[TeamSlug],
        stack_allowances: NamedDependency[StackAllowanceService],
        actor: NamedDependency[Actor],
    ) -> StackAllowancesView:
        """What the team's compose stacks may ask of the host beyond a container's own: for
        its members and the instance's administrators."""
        return await stack_allowances.shown(actor, team)

    @put("/{team:str}/stack-allowances", status_code=HTTP_200_OK)
    async def set_stack_allowances(
        self,
        team: FromPath[TeamSlug],
        data: JSONBody[AllowancesBody],
        stack_allowances: NamedDependency[StackAllowanceService],
        actor: NamedDependency[Actor],
    ) -> StackAllowancesView:
        """Replace what the team's stacks may ask of the host, whole (left out: not allowed).
        An instance admin's alone; the team's own owner and admins are refused (403)."""
        allowances = msgspec.convert(msgspec.to_builtins(data), Allowances)
        await stack_allowances.set(actor, team, allowances)
        return await stack_allowances.shown(actor, team)
