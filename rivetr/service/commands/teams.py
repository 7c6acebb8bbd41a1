"""Teams: creating them, inviting people by a one-time link, roles, and handing a team over.

An invitation link carries a secret whose SHA-256 is all the log keeps; it works once, until it
expires or is revoked, and only for the address it was sent to."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain import project_roles, projects, teams
from rivetr.domain.access import Actor, Permission, authorize
from rivetr.domain.aggregates import PROJECTS, TEAMS
from rivetr.domain.commands import (
    AddMember,
    ChangeMemberRole,
    CreateTeam,
    DeleteTeam,
    InvitableRole,
    InviteMember,
    RemoveMember,
    RevokeInvitation,
    SetProjectRole,
    TeamCommand,
    TransferOwnership,
)
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import Event, ProjectRole, UserRole
from rivetr.domain.projects import DEFAULT_PROJECT
from rivetr.domain.teams import AcceptInvitation
from rivetr.domain.users import normalise_email
from rivetr.projections.projects import ProjectView
from rivetr.projections.registry import ReadModel
from rivetr.projections.teams import InvitationView
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.commands.tokens import hash_secret

INVITATION_PREFIX = "rvi_"
INVITATION_LIFETIME = timedelta(days=7)


class Invited(msgspec.Struct, frozen=True, kw_only=True):
    invitation_id: str
    secret: str  # goes in the link, shown once
    expires_at: str


class TeamService:
    def __init__(self, handler: CommandHandler, read: ReadModel) -> None:
        self.handler = handler
        self.read = read

    async def run(self, actor: Actor, command: TeamCommand) -> None:
        await self.handler.execute(
            actor,
            command,
            TEAMS,
            command.team,
        )

    async def create(self, actor: Actor, team: str, name: str, owner: str | None = None) -> None:
        owner = owner or actor.user
        if owner is None:
            authorize(actor, Permission.CREATE_TEAMS)  # one who may not is told that first
            raise InvalidCommand("a team needs an owner: name one, or create it signed in")
        await self.run(actor, _convert(CreateTeam, team=team, name=name, owner=owner))

    async def add_member(self, actor: Actor, team: str, user_id: str, role: UserRole) -> None:
        await self.run(actor, _convert(AddMember, team=team, user_id=user_id, role=role))

    async def make_instance_admin(self, actor: Actor, user_id: str) -> UserRole:
        """Put `user_id` at the head of the default team: its owner when it has none yet (the
        first admin), else an admin. Returns the role given."""
        if not await self.read.teams.every([teams.ROOT_TEAM]):
            await self.create(actor, teams.ROOT_TEAM, "Default", owner=user_id)
            return "owner"
        await self.add_member(actor, teams.ROOT_TEAM, user_id, "admin")
        return "admin"

    async def invite(self, actor: Actor, team: str, email: str, role: InvitableRole) -> Invited:
        secret = INVITATION_PREFIX + secrets.token_urlsafe(32)
        invited = Invited(
            invitation_id=secrets.token_hex(6),
            secret=secret,
            expires_at=(datetime.now(UTC) + INVITATION_LIFETIME).isoformat(),
        )
        command = _convert(
            InviteMember,
            team=team,
            invitation_id=invited.invitation_id,
            email=email,
            role=role,
            secret_hash=hash_secret(secret),
            expires_at=invited.expires_at,
        )
        await self.run(actor, command)
        return invited

    async def revoke_invitation(self, actor: Actor, team: str, invitation_id: str) -> None:
        await self.run(actor, _convert(RevokeInvitation, team=team, invitation_id=invitation_id))

    async def change_role(self, actor: Actor, team: str, user_id: str, role: InvitableRole) -> None:
        await self.run(actor, _convert(ChangeMemberRole, team=team, user_id=user_id, role=role))

    async def set_project_role(
        self, actor: Actor, team: str, user_id: str, project: str, role: ProjectRole | None
    ) -> None:
        """Give a member `role` in one project of the team (None: their team role again),
        checked against that project's stream in the same decision."""
        command = _convert(SetProjectRole, team=team, user_id=user_id, project=project, role=role)
        team_stream = TEAMS.at(team)
        project_stream = PROJECTS.at(projects.key(team, command.project))

        def together(states: list[Any], c: SetProjectRole) -> list[tuple[str, list[Event]]]:
            team_state, project_state = states
            return [(team_stream.stream_id, project_roles.decide(team_state, project_state, c))]

        await self.handler.execute_together(
            actor, command, reads=[team_stream, project_stream], decide=together
        )

    async def remove_member(self, actor: Actor, team: str, user_id: str) -> None:
        await self.run(actor, _convert(RemoveMember, team=team, user_id=user_id))

    async def transfer(self, actor: Actor, team: str, to_user: str) -> None:
        await self.run(actor, _convert(TransferOwnership, team=team, to_user=to_user))

    async def delete(self, actor: Actor, team: str) -> None:
        apps_left = await self.read.apps.count_in(team)
        places_left = _places_made(await self.read.projects.every([team]))
        command = _convert(DeleteTeam, team=team, apps_left=apps_left, places_left=places_left)
        await self.run(actor, command)

    async def invitation(self, secret: str) -> InvitationView:
        """The open invitation a link's secret stands for.

        Raises:
            NotFound: unknown, used, revoked or expired (one answer for all four but expiry).
        """
        view = None
        if secret.startswith(INVITATION_PREFIX):
            view = await self.read.teams.invitation_by_hash(hash_secret(secret))
        if view is None or view.status != "open":
            raise NotFound("this invitation link has been used, revoked or never existed")
        if datetime.fromisoformat(view.expires_at) <= datetime.now(UTC):
            raise InvalidCommand(f"this invitation expired at {view.expires_at}")
        return view

    async def accept(self, secret: str, user_id: str, actor: Actor) -> InvitationView:
        """Join the team the link invites to, as `user_id` (who must be the one invited)."""
        view = await self.invitation(secret)
        command = AcceptInvitation(
            invitation_id=view.invitation_id,
            user_id=normalise_email(user_id),
            at=datetime.now(UTC).isoformat(),
        )
        await self.handler.decide_and_append(
            command,
            TEAMS,
            view.team,
            decide=teams.decide_accept,
            meta=EventMeta(actor=actor.label, team=view.team, source="invitation"),
        )
        return view


def _places_made(made: list[ProjectView]) -> list[str]:
    """The projects and environments a team made beyond those every team has."""
    places = []
    for project in made:
        if project.project != DEFAULT_PROJECT:
            places.append(f"project {project.project}")
            continue
        places += [f"environment {DEFAULT_PROJECT}/{e}" for e in project.environments[1:]]
    return places


_C = TypeVar("_C", bound=msgspec.Struct)


def _convert(kind: type[_C], **fields: object) -> _C:
    """Build a command through msgspec, so values from paths and forms are validated too."""
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        raise InvalidCommand(str(exc)) from None
