"""The Team aggregate: who belongs to a team and in which role, and the invitations that bring
new members in. Teams own apps; a member's role decides what they may do with them.

One owner per team, always: the owner's role changes only by handing ownership over, and the
owner cannot be removed. The default team is the instance's own: its owner and admins are the
ones who administer Rivetr itself (accounts, other users' sessions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from rivetr.domain.commands import (
    AddMember,
    ChangeMemberRole,
    CreateTeam,
    DeleteTeam,
    InviteMember,
    RemoveMember,
    RevokeInvitation,
    TeamCommand,
    TransferOwnership,
)
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    Event,
    InvitationAccepted,
    InvitationCreated,
    InvitationRevoked,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OwnershipTransferred,
    ProjectRole,
    ProjectRoleSet,
    TeamCreated,
    TeamDeleted,
    UserRole,
)

ROOT_TEAM = "default"


class Invitation(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    role: UserRole
    expires_at: str
    open: bool = True  # false once accepted or revoked: a link works once


class TeamState(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    exists: bool = False
    name: str = ""
    owner: str | None = None
    members: dict[str, UserRole] = msgspec.field(default_factory=dict)
    invitations: dict[str, Invitation] = msgspec.field(default_factory=dict)
    # user -> project -> their role there in place of their team role (never the owner's)
    project_roles: dict[str, dict[str, ProjectRole]] = msgspec.field(default_factory=dict)


class AcceptInvitation(msgspec.Struct, frozen=True, kw_only=True):
    """Taking up an invitation. Not a command: the link's secret is the authority, checked by
    the service (by hash) before this is decided."""

    invitation_id: str
    user_id: str  # the normalised e-mail of the account joining
    at: str  # ISO 8601, UTC


def stream_id(team: str) -> str:
    return f"team-{team}"


def evolve(state: TeamState, event: Event) -> TeamState:
    match event:
        case TeamCreated():
            return TeamState(
                team=event.team,
                exists=True,
                name=event.name,
                owner=event.owner,
                members={event.owner: "owner"},
            )
        case MemberAdded() | MemberRoleChanged():
            return msgspec.structs.replace(
                state, members={**state.members, event.user_id: event.role}
            )
        case MemberRemoved():
            members = dict(state.members)
            members.pop(event.user_id, None)
            return _without_project_roles(
                msgspec.structs.replace(state, members=members), event.user_id
            )
        case OwnershipTransferred():
            members = {**state.members, event.from_user: "admin", event.to_user: "owner"}
            handed = msgspec.structs.replace(state, owner=event.to_user, members=members)
            return _without_project_roles(handed, event.to_user)  # an owner's role is whole
        case ProjectRoleSet():
            roles = dict(state.project_roles.get(event.user_id, {}))
            if event.role is None:
                roles.pop(event.project, None)
            else:
                roles[event.project] = event.role
            return msgspec.structs.replace(
                state, project_roles={**state.project_roles, event.user_id: roles}
            )
        case TeamDeleted():
            return TeamState(team=state.team)
        case InvitationCreated():
            invitation = Invitation(email=event.email, role=event.role, expires_at=event.expires_at)
            return msgspec.structs.replace(
                state, invitations={**state.invitations, event.invitation_id: invitation}
            )
        case InvitationAccepted() | InvitationRevoked():
            invitations = dict(state.invitations)
            used = invitations.get(event.invitation_id)
            if used is not None:
                invitations[event.invitation_id] = msgspec.structs.replace(used, open=False)
            return msgspec.structs.replace(state, invitations=invitations)
        case _:
            return state


def fold(team: str, events: Iterable[Event]) -> TeamState:
    state = TeamState(team=team)
    for event in events:
        state = evolve(state, event)
    return state


def decide(state: TeamState, command: TeamCommand) -> list[Event]:
    """Raises NotFound, AlreadyExists or InvalidCommand when the command does not fit."""
    if isinstance(command, CreateTeam):
        if state.exists:
            raise AlreadyExists(f"a team {command.team!r} already exists", field="team")
        if not command.name.strip():
            raise InvalidCommand("a team needs a name", field="name")
        return [TeamCreated(team=command.team, name=command.name.strip(), owner=command.owner)]
    if not state.exists:
        raise NotFound(f"no team {command.team!r}")
    match command:
        case AddMember():
            if command.role == "owner":
                raise InvalidCommand("a team has one owner: hand ownership over instead")
            if state.members.get(command.user_id) == command.role:
                return []
            if command.user_id in state.members:
                return [_role_change(state, command.user_id, command.role)]
            return [MemberAdded(team=state.team, user_id=command.user_id, role=command.role)]
        case InviteMember():
            if command.invitation_id in state.invitations:
                raise AlreadyExists(f"invitation {command.invitation_id} already exists")
            if command.email.strip().lower() in state.members:
                raise AlreadyExists(
                    f"{command.email} is already a member of {state.team!r}", field="email"
                )
            return [
                InvitationCreated(
                    team=state.team,
                    invitation_id=command.invitation_id,
                    email=command.email.strip(),
                    role=command.role,
                    secret_hash=command.secret_hash,
                    expires_at=command.expires_at,
                )
            ]
        case RevokeInvitation():
            invitation = state.invitations.get(command.invitation_id)
            if invitation is None:
                raise NotFound(f"no invitation {command.invitation_id!r} in {state.team!r}")
            if not invitation.open:
                return []
            return [InvitationRevoked(team=state.team, invitation_id=command.invitation_id)]
        case ChangeMemberRole():
            _a_member_not_the_owner(state, command.user_id, "change the role of")
            if state.members[command.user_id] == command.role:
                return []
            return [_role_change(state, command.user_id, command.role)]
        case RemoveMember():
            _a_member_not_the_owner(state, command.user_id, "remove")
            return [MemberRemoved(team=state.team, user_id=command.user_id)]
        case TransferOwnership():
            if command.to_user not in state.members:
                raise InvalidCommand(
                    f"{command.to_user} is not a member of {state.team!r}", field="to_user"
                )
            if command.to_user == state.owner:
                return []
            assert state.owner is not None
            return [
                OwnershipTransferred(
                    team=state.team, from_user=state.owner, to_user=command.to_user
                )
            ]
        case DeleteTeam():
            if state.team == ROOT_TEAM:
                raise InvalidCommand("the default team is the instance's own: it cannot be deleted")
            if command.apps_left:
                raise InvalidCommand(
                    f"{state.team!r} still owns {command.apps_left} app(s): delete them first"
                )
            if command.places_left:
                raise InvalidCommand(
                    f"{state.team!r} still has {', '.join(command.places_left)}: delete them first"
                )
            return [TeamDeleted(team=state.team)]
    raise TypeError(f"not a team command: {type(command).__name__}")


def decide_accept(state: TeamState, command: AcceptInvitation) -> list[Event]:
    """Join the team through an open, unexpired invitation addressed to this account."""
    invitation = state.invitations.get(command.invitation_id) if state.exists else None
    if invitation is None or not invitation.open:
        raise NotFound("this invitation link has been used, revoked or never existed")
    if datetime.fromisoformat(command.at) >= datetime.fromisoformat(invitation.expires_at):
        raise InvalidCommand(f"this invitation expired at {invitation.expires_at}")
    if invitation.email.strip().lower() != command.user_id:
        raise InvalidCommand(f"this invitation is for {invitation.email}, not {command.user_id}")
    accepted = InvitationAccepted(
        team=state.team, invitation_id=command.invitation_id, user_id=command.user_id
    )
    if command.user_id in state.members:
        return [accepted]  # joined meanwhile by another route: close the link, keep the role
    return [
        accepted,
        MemberAdded(
            team=state.team,
            user_id=command.user_id,
            role=invitation.role,
            invitation_id=command.invitation_id,
        ),
    ]


def _a_member_not_the_owner(state: TeamState, user_id: str, doing: str) -> None:
    if user_id not in state.members:
        raise NotFound(f"{user_id} is not a member of {state.team!r}")
    if user_id == state.owner:
        raise InvalidCommand(
            f"cannot {doing} the owner of {state.team!r}: hand ownership over first"
        )


def _without_project_roles(state: TeamState, user_id: str) -> TeamState:
    roles = {user: held for user, held in state.project_roles.items() if user != user_id}
    return msgspec.structs.replace(state, project_roles=roles)


def _role_change(state: TeamState, user_id: str, role: UserRole) -> Event:
    if user_id == state.owner:
        raise InvalidCommand(f"cannot change the role of the owner of {state.team!r}")
    return MemberRoleChanged(team=state.team, user_id=user_id, role=role)
