"""What each command acts on, looked up so that `access.authorize_command` can decide: the team
that owns it, the project of that team it is in (an app's, as its own stream says now) and, for
tokens and sessions, the user they belong to.

Read from the streams themselves rather than the read model: a command is authorised against
the same facts it is then decided on, even a moment after the app or token was created."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain import databases, deployment, projects, stacks
from rivetr.domain.access import Target
from rivetr.domain.aggregates import BACKUPS, DATABASES, PROJECTS, STACKS, TEAMS, TOKENS
from rivetr.domain.commands import (
    AddMember,
    ApprovePreview,
    AssignTokenOwner,
    AwaitPreviewApproval,
    CancelDeployment,
    ChangeAppSettings,
    ChangeInstanceSettings,
    ChangeMemberRole,
    ChangeProjectVariables,
    ChangeTeamVariables,
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
    SetProjectRole,
    SetWebhookSecret,
    TransferOwnership,
)
from rivetr.domain.control_plane import BackUpControlPlane, SetControlPlaneSchedules
from rivetr.domain.database_commands import (
    CreateDatabase,
    DatabaseCommand,
    DeleteBackup,
    RemoveBackupTarget,
    RestoreBackup,
    SetBackupTarget,
)
from rivetr.domain.errors import NotFound
from rivetr.domain.job_commands import JobCommand
from rivetr.domain.notification_commands import NotificationCommand
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.stack_commands import (
    CreateStack,
    CreateStackFromTemplate,
    SetStackAllowances,
    StackCommand,
)
from rivetr.domain.swarm import ChangeNode, InitSwarm, InviteNode, JoinNode, RemoveNode
from rivetr.domain.swarm_build import ClearBuildNode, SetBuildNode
from rivetr.domain.swarm_registry import (
    ClearRegistry,
    HostRegistry,
    SetRegistry,
    StopHostedRegistry,
)
from rivetr.domain.teams import ROOT_TEAM
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.handler import folded


class Authority:
    def __init__(self, store: EventStore, lookup: AppLookup) -> None:
        self.store = store
        self.lookup = lookup

    async def target(self, command: Command) -> Target:
        """Raises NotFound for an app, deployment, token or team that does not exist."""
        match command:
            case CreateApp():
                team = await self.existing_team(command.team or ROOT_TEAM)
                return Target(team=team, project=command.project)
            case (
                ChangeAppSettings()
                | DeleteApp()
                | SetWebhookSecret()
                | DisableWebhook()
                | ClosePreview()
                | MoveApp()
                | ScaleApp()
            ):
                return await self.app_target(command.name)
            case RequestDeployment() | InstallCertificate():
                return await self.app_target(command.app)
            case OpenPreview() | AwaitPreviewApproval() | ApprovePreview():
                return await self.app_target(command.preview_of)
            case CancelDeployment():
                history = await self.store.read_stream(deployment.stream_id(command.deployment_id))
                if not history:
                    raise NotFound(f"no deployment {command.deployment_id!r}")
                state = deployment.fold(command.deployment_id, [e.event for e in history])
                app = await self.lookup.of_deployment(state)
                if not app.exists:
                    raise NotFound(f"no deployment {command.deployment_id!r}")
                return Target(team=app.team, project=app.project)
            case CreateToken():
                if not command.team:
                    return Target(project=command.project)
                if command.project is not None:
                    await self.existing_project(command.team, command.project)
                return Target(team=await self.existing_team(command.team), project=command.project)
            case RevokeToken():
                token = await folded(self.store, TOKENS.at(command.token_id))
                if not token.exists:
                    raise NotFound(f"no token with id {command.token_id!r}")
                return Target(team=token.team, owner=token.owner)
            case (
                AssignTokenOwner()
                | CreateUser()
                | ChangeInstanceSettings()
                | BackUpControlPlane()
                | SetControlPlaneSchedules()
                | InitSwarm()
                | InviteNode()
                | JoinNode()
                | ChangeNode()
                | RemoveNode()
                | SetRegistry()
                | ClearRegistry()
                | HostRegistry()
                | StopHostedRegistry()
                | SetBuildNode()
                | ClearBuildNode()
            ):
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
                team = await self.existing_team(command.team)
                return Target(team=team, project=command.project)
            case ChangeTeamVariables():
                return Target(team=await self.existing_team(command.team))
            case SetStackAllowances():
                # the decision says whether the team exists, after the actor is authorised:
                # one who may not set allowances learns nothing of which teams exist
                return Target(team=command.team)
            case ChangeProjectVariables():
                team = await self.existing_team(command.team)
                return Target(team=team, project=command.project)
            case (
                AddMember()
                | InviteMember()
                | RevokeInvitation()
                | ChangeMemberRole()
                | RemoveMember()
                | TransferOwnership()
                | DeleteTeam()
                | SetProjectRole()
            ):
                return Target(team=command.team)
            case CreateDatabase():
                team = await self.existing_team(command.team or ROOT_TEAM)
                return Target(team=team, project=command.project)
            case SetBackupTarget() | RemoveBackupTarget() | NotificationCommand():
                return Target(team=await self.existing_team(command.team or ROOT_TEAM))
            case RestoreBackup() | DeleteBackup():
                return await self.backup_target(command.backup_id)
            case DatabaseCommand():
                return await self.database_target(getattr(command, "database_id"))  # noqa: B009
            case CreateStack() | CreateStackFromTemplate():
                team = await self.existing_team(command.team or ROOT_TEAM)
                return Target(team=team, project=command.project)
            case StackCommand():
                return await self.stack_target(getattr(command, "stack_id"))  # noqa: B009
            case JobCommand():
                if command.stack_id is not None:
                    return await self.stack_target(command.stack_id)
                assert command.app is not None  # the command is of an app or of a stack
                return await self.app_target(command.app)
        raise TypeError(f"no target is defined for {type(command).__name__}")

    async def app_target(self, name: str) -> Target:
        """The team and project of the app named `name` now."""
        app = await self.lookup.by_name(name)
        if not app.exists:
            raise NotFound(f"no application named {name!r}")
        return Target(team=app.team, project=app.project)

    async def database_target(self, database_id: str) -> Target:
        state = await folded(self.store, DATABASES.at(database_id))
        databases.require(state)
        return Target(team=state.team, project=state.project)

    async def stack_target(self, stack_id: str) -> Target:
        state = await folded(self.store, STACKS.at(stack_id))
        stacks.require(state)
        return Target(team=state.team, project=state.project)

    async def backup_target(self, backup_id: str) -> Target:
        """The place of the database a backup was taken of, then (a backup stays with it)."""
        request = (await folded(self.store, BACKUPS.at(backup_id))).request
        if request is None:
            raise NotFound(f"no backup with id {backup_id}")
        return Target(team=request.team, project=request.project)

    async def existing_project(self, team: str, project: str) -> None:
        """Raises NotFound unless `project` exists in `team` (its default project always does)."""
        if not (await folded(self.store, PROJECTS.at(projects.key(team, project)))).exists:
            raise NotFound(f"no project {project!r} in team {team!r}", field="project")

    async def existing_team(self, team: str) -> str:
        """The default team always exists (its owner comes with the first admin); any other
        must have been created and not deleted."""
        if team != ROOT_TEAM and not (await folded(self.store, TEAMS.at(team))).exists:
            raise NotFound(f"no team {team!r}")
        return team
