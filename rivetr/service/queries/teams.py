"""Reading teams as an actor may: a team its members (and whoever reads every team) see, with
the invitations only for those who manage its members."""

from __future__ import annotations

import msgspec

from rivetr.domain.access import Actor, Permission
from rivetr.projections.registry import ReadModel
from rivetr.projections.teams import InvitationView, MemberView, ProjectRoleView, TeamView
from rivetr.service.queries.refusals import Absent


class TeamDetail(msgspec.Struct, kw_only=True):
    team: TeamView
    members: list[MemberView]
    invitations: list[InvitationView]  # only for those who manage members; never the secrets
    # members' roles in single projects, where they differ from their team role
    project_roles: list[ProjectRoleView] = msgspec.field(default_factory=list)


class TeamReads:
    def __init__(self, read: ReadModel) -> None:
        self.read = read

    async def visible(self, actor: Actor) -> list[TeamView]:
        return await self.read.teams.every(actor.readable_teams())

    async def roles(self, actor: Actor) -> dict[str, str]:
        """team -> the actor's user's role in it (none for an actor that is not a user's)."""
        return await self.read.teams.memberships_of(actor.user) if actor.user else {}

    async def detail(self, actor: Actor, team: str) -> TeamDetail:
        """A team its members may see; to anyone else it is absent."""
        found = await self.read.teams.every([team])
        if not found or not actor.can(Permission.READ, team):
            raise Absent(f"no team {team!r}")
        manages = actor.can(Permission.MANAGE_MEMBERS, team)
        return TeamDetail(
            team=found[0],
            members=await self.read.teams.members(team),
            invitations=await self.read.teams.invitations(team) if manages else [],
            project_roles=await self.read.teams.project_roles(team),
        )
