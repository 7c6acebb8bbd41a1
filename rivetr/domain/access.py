"""Who is acting, and what they may do: the one place every command is authorised.

Permissions are held per team, and per project where a member's role there differs from their
team role (a project role). A user holds those of their role in each team they belong to;
a token holds its scope's, cut down to what its owner's role in its team allows today (a
demoted owner's tokens shrink with them), and a token limited to a project acts in that project
only. The CLI, the system and the tokens minted before any account existed act in every team.
Acting on an account (tokens, sessions, the second factor) needs a session, or for some of it an
admin-scoped token."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal

import msgspec

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
    BackUpDatabase,
    ChangeDatabaseSettings,
    CreateDatabase,
    DatabaseCommand,
    DeleteBackup,
    DeleteDatabase,
    RemoveBackupTarget,
    RequestDatabaseAction,
    ResealDatabasePasswords,
    RestoreBackup,
    RotateDatabasePassword,
    SetBackupSchedules,
    SetBackupTarget,
    UpgradeDatabase,
)
from rivetr.domain.errors import Forbidden, InvalidCommand
from rivetr.domain.job_commands import JobCommand, RunJob
from rivetr.domain.notification_commands import NotificationCommand
from rivetr.domain.places import Places
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    CreateStackFromTemplate,
    DeleteStack,
    DeployStack,
    DisableStackWebhook,
    InstallStackCertificate,
    RollBackStack,
    SetStackAllowances,
    SetStackVariables,
    SetStackWebhookSecret,
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
from rivetr.domain.tokens import check_child

ActorKind = Literal["token", "user", "system", "cli", "webhook"]


class Permission(enum.Enum):
    READ = "read"  # see apps, deployments, logs (never secret values)
    DEPLOY = "deploy"  # deploy, roll back, cancel
    EDIT_APPS = "edit_apps"  # settings and env vars
    MANAGE_APPS = "manage_apps"  # create and delete apps; domains and git credentials
    MANAGE_MEMBERS = "manage_members"  # invitations, roles, tokens of others; admin tokens
    MINT_TOKENS = "mint_tokens"  # read and deploy tokens of one's own
    OWN_TEAM = "own_team"  # delete the team, hand ownership over
    CREATE_TEAMS = "create_teams"  # held outside any team, by every user


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": frozenset(Permission) - {Permission.CREATE_TEAMS},
    "admin": frozenset(Permission) - {Permission.CREATE_TEAMS, Permission.OWN_TEAM},
    "developer": frozenset(
        {Permission.READ, Permission.DEPLOY, Permission.EDIT_APPS, Permission.MINT_TOKENS}
    ),
    "viewer": frozenset({Permission.READ}),
    "guest": frozenset(),  # what a guest may do comes from their project roles alone
}
# a project role holds what the team role of that name does; "none" nothing at all
PROJECT_ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": ROLE_PERMISSIONS["admin"],
    "developer": ROLE_PERMISSIONS["developer"],
    "viewer": ROLE_PERMISSIONS["viewer"],
    "none": frozenset(),
}

# A token never holds OWN_TEAM: deleting a team or giving it away needs its owner signed in.
SCOPE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ}),
    "deploy": frozenset({Permission.READ, Permission.DEPLOY}),
    "admin": frozenset(Permission) - {Permission.OWN_TEAM},
}

# the permission minting a token of each scope needs: viewers mint none, developers read and
# deploy tokens, admins and owners admin tokens too (no token is stronger than its minter)
SCOPE_NEEDS: dict[str, Permission] = {
    "read": Permission.MINT_TOKENS,
    "deploy": Permission.MINT_TOKENS,
    "admin": Permission.MANAGE_MEMBERS,
}

# what acts on one's own account, as said in a refusal
AccountAction = Literal[
    "mint tokens", "list tokens", "revoke tokens", "list sessions", "end sessions", "second factor"
]


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The identity recorded as `actor` on every event a command causes, with `source` saying
    how it came in ("session", "token:<name>", "cli", "webhook", "system")."""

    kind: ActorKind
    id: str
    name: str
    permissions: frozenset[Permission] = frozenset()  # held in every team
    teams: Mapping[str, frozenset[Permission]] = msgspec.field(default_factory=dict)
    # team -> project -> what is held there in place of the team's permissions
    projects: Mapping[str, Mapping[str, frozenset[Permission]]] = msgspec.field(
        default_factory=dict
    )
    user: str | None = None  # the user behind it: a session's, or a token's owner
    team: str | None = None  # a token's team: where it acts unless told otherwise
    source: str | None = None
    scope: str | None = None  # a token's scope
    expires_at: str | None = None  # a token's expiry, the earliest along its lineage
    project: str | None = None  # a token's one project (of `team`): nothing is held elsewhere

    @property
    def label(self) -> str:
        if self.user is not None:
            return f"user:{self.user}"
        return f"{self.kind}:{self.name}"

    def can(self, needed: Permission, team: str | None, project: str | None = None) -> bool:
        """Whether the actor holds `needed` in `team` (None: outside any team), and with
        `project`, in that project of it: its project role there if it has one, else its
        team role."""
        if self.project is not None and (team != self.team or project != self.project):
            return False
        if needed in self.permissions:
            return True
        if team is None:
            return False
        if project is not None:
            held = self.projects.get(team, {}).get(project)
            if held is not None:
                return needed in held
        return needed in self.teams.get(team, frozenset())

    def may_read(self, team: str | None, project: str | None = None) -> bool:
        """Whether the actor may see what belongs to `project` of `team` (None: to the team
        itself, such as its members)."""
        return self.can(Permission.READ, team, project)

    def readable_teams(self) -> frozenset[str] | None:
        """The teams this actor may read as a whole (their members, and every project without
        a project role that hides it); None: all of them."""
        if self.project is not None:
            return frozenset()
        if Permission.READ in self.permissions:
            return None
        return frozenset(t for t, held in self.teams.items() if Permission.READ in held)

    def readable_places(self) -> Places | None:
        """Everywhere this actor may read; None: everywhere (and the events of no team)."""
        if self.project is not None:
            assert self.team is not None  # a token limited to a project has a team
            mine = {(self.team, self.project)} if self.may_read(self.team, self.project) else set()
            return Places(teams=frozenset(), hidden=frozenset(), projects=frozenset(mine))
        teams = self.readable_teams()
        if teams is None:
            return None
        hidden, projects = set(), set()
        for team, roles in self.projects.items():
            for project, held in roles.items():
                if team in teams and Permission.READ not in held:
                    hidden.add((team, project))
                elif team not in teams and Permission.READ in held:
                    projects.add((team, project))
        return Places(teams=teams, hidden=frozenset(hidden), projects=frozenset(projects))

    def administers_instance(self) -> bool:
        """Whether the actor administers the instance (its settings, every user): the default
        team's admins and owner, and the CLI and system, which act everywhere."""
        return self.can(Permission.MANAGE_MEMBERS, ROOT_TEAM)

    def reads_instance_events(self) -> bool:
        """Whether the actor may read the events of no team (sign-ins, the engine, users):
        the instance's administrators, the default team's admins and owner, may."""
        if self.project is not None:
            return False  # a token limited to a project reads that project's events only
        return Permission.READ in self.permissions or self.can(Permission.MANAGE_MEMBERS, ROOT_TEAM)


def webhook_actor(provider: str) -> Actor:
    """A delivery whose signature matched the app's secret: it may deploy, nothing more."""
    return Actor(
        kind="webhook",
        id=provider,
        name=provider,
        permissions=frozenset({Permission.READ, Permission.DEPLOY}),
        source=f"webhook:{provider}",
    )


SYSTEM = Actor(
    kind="system", id="system", name="rivetr", permissions=frozenset(Permission), source="system"
)


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """What a command acts on, as far as authorising it goes: the team that owns it, the
    project of that team it is in (None: the team itself), and the user it belongs to (a
    token's owner, a session's user), looked up by the service."""

    team: str | None = None
    owner: str | None = None
    project: str | None = None


def required_permission(command: Command) -> Permission:
    match command:
        case (
            CreateApp()
            | DeleteApp()
            | MoveApp()
            | SetWebhookSecret()
            | DisableWebhook()
            | InstallCertificate()
            | CreateProject()
            | DeleteProject()
            | CreateEnvironment()
            | DeleteEnvironment()
            | CloneEnvironment()  # it copies env values and git credentials, and claims domains
        ):
            return Permission.MANAGE_APPS
        case OpenPreview() | ClosePreview() | AwaitPreviewApproval():
            return Permission.DEPLOY
        case ApprovePreview():
            # it hands the app's env values and git credentials to code from outside the
            # team: what changing env values takes, so not a deploy token's or a webhook's
            return Permission.EDIT_APPS
        case ChangeAppSettings():
            # the repository's URL is here too: pointed elsewhere, it would carry the git token
            touches_secrets_or_domains = any(
                getattr(command, f) is not msgspec.UNSET
                for f in ("domains", "git_token", "deploy_key", "git_url")
            )
            return Permission.MANAGE_APPS if touches_secrets_or_domains else Permission.EDIT_APPS
        case ScaleApp():  # how many copies and where: a setting like its resources
            return Permission.EDIT_APPS
        case RequestDeployment() | CancelDeployment():
            return Permission.DEPLOY
        case CreateToken():
            return SCOPE_NEEDS[command.scope]
        case (
            RevokeToken()
            | AssignTokenOwner()
            | CreateUser()
            | RevokeSession()
            | DisableTotp()
            | ResealTotp()
            | EnrollTotp()
            | ConfirmTotp()
            | AddMember()
            | InviteMember()
            | RevokeInvitation()
            | ChangeMemberRole()
            | RemoveMember()
            | SetProjectRole()
            | ChangeInstanceSettings()  # with the default team as target: an instance admin's
            | SetStackAllowances()  # held in the default team, whatever team it names
            | BackUpControlPlane()  # the whole log, every team's: the instance admins'
            | SetControlPlaneSchedules()
            | InitSwarm()  # the instance's machines: the instance admins'
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
            return Permission.MANAGE_MEMBERS
        case TransferOwnership() | DeleteTeam():
            return Permission.OWN_TEAM
        case CreateTeam():
            return Permission.CREATE_TEAMS
        case ChangeTeamVariables() | ChangeProjectVariables():
            return Permission.EDIT_APPS  # what changing an app's env values takes
        case DatabaseCommand():
            return _DATABASE_PERMISSIONS[type(command)]
        case NotificationCommand():
            # a channel's URL holds the service's token, as a backup target holds credentials
            return Permission.MANAGE_APPS
        case ChangeStackSettings():
            # what runs and where it is reached, and what fetches it: as an app's repository,
            # domains and git credentials
            reaches_out = any(
                getattr(command, f) is not msgspec.UNSET
                for f in ("git_url", "routes", "compose", "git_token", "deploy_key")
            )
            return Permission.MANAGE_APPS if reaches_out else Permission.EDIT_APPS
        case StackCommand():
            return _STACK_PERMISSIONS[type(command)]
        case RunJob():
            return Permission.DEPLOY  # what runs is the release's code, as a deploy runs it
        case JobCommand():
            # a job's command runs with the app's variables: what changing them takes
            return Permission.EDIT_APPS
    raise TypeError(f"no permission is defined for {type(command).__name__}")


def authorize_command(actor: Actor, command: Command, target: Target) -> None:
    """Raise Forbidden unless `actor` may run `command` on `target`. The one check every
    command passes, whichever controller, CLI verb or reactor sent it."""
    own = actor.user is not None and target.owner == actor.user
    if isinstance(command, RevokeToken) and actor.kind == "token" and actor.id == command.token_id:
        return  # giving up one's own access needs nothing more
    if isinstance(command, EnrollTotp | ConfirmTotp | DisableTotp) and own:
        authorize_account(actor, "second factor")
        return
    if isinstance(command, EnrollTotp | ConfirmTotp):
        raise Forbidden(SECOND_FACTOR_IS_OWN)
    if isinstance(command, CreateToken | RevokeToken | RevokeSession):
        authorize_account(actor, ACCOUNT_ACTIONS[type(command)])
        if own and not isinstance(command, CreateToken):
            return  # one's own token or session
    if isinstance(command, CreateToken):
        _authorize_lineage(actor, command)
    # a copy of the whole log (every team's history, sealed secrets, password hashes): never
    # a team's to take, only the instance's administrators may
    control_plane = isinstance(command, BackUpControlPlane | SetControlPlaneSchedules)
    if control_plane and not actor.administers_instance():
        raise Forbidden(
            f"{actor.label} does not administer this instance: only an instance admin backs up"
            " the control plane"
        )
    servers = isinstance(
        command,
        InitSwarm
        | InviteNode
        | JoinNode
        | ChangeNode
        | RemoveNode
        | SetRegistry
        | ClearRegistry
        | HostRegistry
        | StopHostedRegistry
        | SetBuildNode
        | ClearBuildNode,
    )
    if servers and not actor.administers_instance():
        raise Forbidden(
            f"{actor.label} does not administer this instance: only an instance admin changes"
            " its servers"
        )
    if isinstance(command, SetStackAllowances):
        # what a team's stacks may ask of the host is never the team's own to widen: its
        # owner and admins are refused, only the instance's administrators may
        if not actor.administers_instance():
            raise Forbidden(
                f"{actor.label} does not administer this instance: only an instance admin"
                " sets what a team's stacks may ask of the host"
            )
        return
    if isinstance(command, CreateTeam) and actor.user is not None and command.owner != actor.user:
        raise Forbidden(f"{actor.label} can only create a team owned by themselves")
    if isinstance(command, MoveApp):  # it lands in another project: one needs it there too
        authorize(actor, Permission.MANAGE_APPS, target.team, command.project)
    if isinstance(command, CloneEnvironment) and command.to_project is not None:
        authorize(actor, Permission.MANAGE_APPS, target.team, command.to_project)
    authorize(actor, required_permission(command), target.team, target.project)


# what each database command takes: what its nearest app command does (making, exposing and
# deleting as creating an app; a password as an env value; start, stop and a backup as a
# deploy); a restore overwrites live data and a target holds credentials, so they are managed
_DATABASE_PERMISSIONS: dict[type[Command], Permission] = {
    CreateDatabase: Permission.MANAGE_APPS,
    ChangeDatabaseSettings: Permission.MANAGE_APPS,
    DeleteDatabase: Permission.MANAGE_APPS,
    UpgradeDatabase: Permission.MANAGE_APPS,
    RestoreBackup: Permission.MANAGE_APPS,
    DeleteBackup: Permission.MANAGE_APPS,
    SetBackupTarget: Permission.MANAGE_APPS,
    RemoveBackupTarget: Permission.MANAGE_APPS,
    RotateDatabasePassword: Permission.EDIT_APPS,
    ResealDatabasePasswords: Permission.EDIT_APPS,
    SetBackupSchedules: Permission.EDIT_APPS,
    RequestDatabaseAction: Permission.DEPLOY,
    BackUpDatabase: Permission.DEPLOY,
}

# a stack as an app: making and deleting it managed, its variables as env values, a deploy
# and a rollback as a deploy
_STACK_PERMISSIONS: dict[type[Command], Permission] = {
    CreateStack: Permission.MANAGE_APPS,
    CreateStackFromTemplate: Permission.MANAGE_APPS,
    DeleteStack: Permission.MANAGE_APPS,
    SetStackVariables: Permission.EDIT_APPS,
    DeployStack: Permission.DEPLOY,
    RollBackStack: Permission.DEPLOY,
    # who may let a git host deploy it: as an app's webhook, whoever manages the stack
    SetStackWebhookSecret: Permission.MANAGE_APPS,
    DisableStackWebhook: Permission.MANAGE_APPS,
    InstallStackCertificate: Permission.MANAGE_APPS,
}

SECOND_FACTOR_IS_OWN = "a second factor is managed by its own user, signed in with a password"
ACCOUNT_ACTIONS: dict[type[Command], AccountAction] = {
    CreateToken: "mint tokens",
    RevokeToken: "revoke tokens",
    RevokeSession: "end sessions",
}


def authorize_account(actor: Actor, action: AccountAction) -> None:
    """Raise Forbidden unless the actor may act on accounts at all (what it may do there is
    for its permissions to say). A session may; an admin-scoped token may too, standing in for
    its owner, except on the second factor, which is its user's alone, signed in; a read or
    deploy token may not (it may only revoke itself)."""
    if action == "second factor":
        if actor.kind != "user":
            raise Forbidden(SECOND_FACTOR_IS_OWN)
        return
    if actor.kind == "token" and actor.scope != "admin":
        raise Forbidden(
            f"a {actor.scope}-scoped token cannot {action}: sign in, or use an admin-scoped token"
        )


def _authorize_lineage(actor: Actor, command: CreateToken) -> None:
    """A token is minted for its minter, and a token minted by a token stays within it."""
    if command.owner != actor.user:
        raise Forbidden(f"{actor.label} can only mint tokens of their own")
    if actor.kind == "token" and actor.scope is not None:
        check_child(command, actor.id, actor.scope, actor.team, actor.expires_at, actor.project)
    elif command.parent_token_id is not None:
        raise Forbidden("only a token is recorded as the parent of the tokens it mints")


def authorize(
    actor: Actor, needed: Permission, team: str | None = None, project: str | None = None
) -> None:
    """Raise Forbidden unless the actor holds `needed` in `team` (or everywhere), and with
    `project`, in that project of it."""
    if not actor.can(needed, team, project):
        where = f" in team {team!r}" if team is not None else ""
        where = f" in project {project!r} of team {team!r}" if project is not None else where
        raise Forbidden(f"{actor.label} lacks the {needed.value!r} permission{where}")


def home_team(actor: Actor, needed: Permission) -> str:
    """The team a command that names none acts in: a token's own team; the default team for
    an actor who acts everywhere; else the one team where the actor holds `needed`.

    Raises:
        InvalidCommand: the actor holds `needed` in several teams (or none): say which.
    """
    if actor.team is not None:
        return actor.team
    if needed in actor.permissions:
        return ROOT_TEAM
    able = sorted(
        {team for team, held in actor.teams.items() if needed in held}
        | {t for t, roles in actor.projects.items() for held in roles.values() if needed in held}
    )
    if len(able) == 1:
        return able[0]
    if not able:
        raise Forbidden(f"{actor.label} lacks the {needed.value!r} permission in every team")
    raise InvalidCommand(
        f"say which team: {actor.label} can act in {', '.join(able)}", field="team"
    )


ProjectRoles = Mapping[str, Mapping[str, str]]  # team -> project -> a user's role there


def user_actor(
    user_id: str,
    memberships: Mapping[str, str],
    source: str = "session",
    project_roles: ProjectRoles | None = None,
) -> Actor:
    """A signed-in user: their role's permissions in each team they belong to, and in each
    project where they have a project role, that role's."""
    return Actor(
        kind="user",
        id=user_id,
        name=user_id,
        permissions=frozenset({Permission.CREATE_TEAMS}),
        teams={team: ROLE_PERMISSIONS[role] for team, role in memberships.items()},
        projects=_held_in_projects(memberships, project_roles or {}),
        user=user_id,
        source=source,
    )


def _held_in_projects(
    memberships: Mapping[str, str], project_roles: ProjectRoles, scope: str | None = None
) -> dict[str, dict[str, frozenset[Permission]]]:
    """What project roles hold (within a token's `scope`), in the teams one belongs to."""
    granted = SCOPE_PERMISSIONS[scope] if scope is not None else frozenset(Permission)
    return {
        team: {p: granted & PROJECT_ROLE_PERMISSIONS[r] for p, r in roles.items()}
        for team, roles in project_roles.items()
        if team in memberships and memberships[team] != "owner"
    }


def token_actor(
    token_id: str,
    name: str,
    scope: str,
    owner: str | None,
    team: str | None,
    memberships: Mapping[str, str],
    expires_at: str | None = None,
    *,
    project_roles: ProjectRoles | None = None,
    project: str | None = None,
) -> Actor:
    """A token: its scope, and if a user minted it, no more than their role in the token's
    team (and its projects) allows now (`memberships` and `project_roles` are the owner's). The
    CLI's ownerless tokens act in every team, within their scope. `expires_at` is the earliest
    expiry along its lineage, which bounds the tokens it mints. A token limited to `project`
    acts in that project of its team and nowhere else."""
    token = Actor(
        kind="token",
        id=token_id,
        name=name,
        source=f"token:{name}",
        scope=scope,
        expires_at=expires_at,
        project=project,
    )
    granted = SCOPE_PERMISSIONS[scope]
    if owner is None:
        return msgspec.structs.replace(token, permissions=granted, team=team)
    team = team or ROOT_TEAM
    role = memberships.get(team)
    held = granted & ROLE_PERMISSIONS[role] if role is not None else frozenset()
    mine = {team: role} if role is not None else {}
    in_projects = _held_in_projects(mine, {team: (project_roles or {}).get(team, {})}, scope)
    return msgspec.structs.replace(
        token, teams={team: held}, projects=in_projects, user=owner, team=team
    )
