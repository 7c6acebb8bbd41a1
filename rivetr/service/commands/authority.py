"""What each command acts on, looked up so that `access.authorize_command` can decide: the team
that owns it and, for tokens and sessions, the user they belong to.

Read from the streams themselves rather than the read model: a command is authorised against
the same facts it is then decided on, even a moment after the app or token was created."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain import deployment, teams, tokens
from rivetr.domain.access import Target
from rivetr.domain.commands import (
    AddMember,
    ApprovePreview,
    AssignTokenOwner,
    AwaitPreviewApproval,
    CancelDeployment,
    ChangeAppSettings,
    ChangeInstanceSettings,
    ChangeMemberRole,
    CloneEnvironment,
    ClosePreview,
    Command,
    ConfirmTotp,
    CreateApp,
    CreateEnvironment,
    CreateProject,
    CreateTeam,
    CreateToken,
    CreateUser,
    DeleteApp,
    DeleteEnvironment,
    DeleteProject,
    DeleteTeam,
    DisableTotp,
    DisableWebhook,
    EnrollTotp,
    InstallCertificate,
    InviteMember,
    MoveApp,
    OpenPreview,
    RemoveMember,
    RequestDeployment,
    ResealTotp,
    RevokeInvitation,
    RevokeSession,
    RevokeToken,
    SetWebhookSecret,
    TransferOwnership,
)
from rivetr.domain.errors import NotFound
from rivetr.domain.teams import ROOT_TEAM
from rivetr.service.commands.app_lookup import AppLookup


class Authority:
    def __init__(self, store: EventStore, lookup: AppLookup) -> None:
        self.store = store
        self.lookup = lookup

    async def target(self, command: Command) -> Target:
        """Raises NotFound for an app, deployment, token or team that does not exist."""
        match command:
            case CreateApp():
                return Target(team=await self.existing_team(command.team or ROOT_TEAM))
            case (
                ChangeAppSettings()
                | DeleteApp()
                | SetWebhookSecret()
                | DisableWebhook()
                | ClosePreview()
                | MoveApp()
            ):
                return Target(team=await self.team_of_app(command.name))
            case RequestDeployment() | InstallCertificate():
                return Target(team=await self.team_of_app(command.app))
            case OpenPreview() | AwaitPreviewApproval() | ApprovePreview():
                return Target(team=await self.team_of_app(command.preview_of))
            case CancelDeployment():
                history = await self.store.read_stream(deployment.stream_id(command.deployment_id))
                if not history:
                    raise NotFound(f"no deployment {command.deployment_id!r}")
                state = deployment.fold(command.deployment_id, [e.event for e in history])
                app = await self.lookup.of_deployment(state)
                if not app.exists:
                    raise NotFound(f"no deployment {command.deployment_id!r}")
                return Target(team=app.team)
            case CreateToken():
                team = command.team
                return Target(team=await self.existing_team(team) if team else None)
            case RevokeToken():
                history = await self.store.read_stream(tokens.stream_id(command.token_id))
                token = tokens.fold(command.token_id, [e.event for e in history])
                if not token.exists:
                    raise NotFound(f"no token with id {command.token_id!r}")
                return Target(team=token.team, owner=token.owner)
            case AssignTokenOwner() | CreateUser() | ChangeInstanceSettings():
                return Target(team=ROOT_TEAM)
            case RevokeSession() | EnrollTotp() | ConfirmTotp() | DisableTotp() | ResealTotp():
                return Target(team=ROOT_TEAM, owner=command.user_id)
            case CreateTeam():
                return Target()
            case (
                CreateProject()
                | DeleteProject()
                | CreateEnvironment()
                | DeleteEnvironment()
                | CloneEnvironment()
            ):
                return Target(team=await self.existing_team(command.team))
            case (
                AddMember()
                | InviteMember()
                | RevokeInvitation()
                | ChangeMemberRole()
                | RemoveMember()
                | TransferOwnership()
                | DeleteTeam()
            ):
                return Target(team=command.team)
        raise TypeError(f"no target is defined for {type(command).__name__}")

    async def team_of_app(self, name: str) -> str:
        app = await self.lookup.by_name(name)
        if not app.exists:
            raise NotFound(f"no application named {name!r}")
        return app.team

    async def existing_team(self, team: str) -> str:
        """The default team always exists (its owner comes with the first admin); any other
        must have been created and not deleted."""
        if team != ROOT_TEAM:
            history = await self.store.read_stream(teams.stream_id(team))
            if not teams.fold(team, [e.event for e in history]).exists:
                raise NotFound(f"no team {team!r}")
        return team
