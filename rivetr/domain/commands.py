"""What users and systems ask Rivetr to do. Commands refuse unknown fields: a typo is an error."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rivetr.domain.events import DeploymentTrigger, ProjectRole, TokenScope, UserRole
from rivetr.domain.settings import (
    SPACE,
    AppName,
    Branch,
    BuildSettingsInput,
    CommitId,
    DeployKey,
    DnsLabel,
    Domain,
    EnvName,
    GitToken,
    GitUrl,
    HealthCheckInput,
    Port,
    PrNumber,
    ResourcesInput,
    WatchPath,
    whole,
)


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of all commands."""


TeamSlug = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(r"[a-z0-9][a-z0-9-]{0,38}"),
        description="lower-case letters, digits and '-', at most 39 characters",
    ),
]
# owner is only ever handed over; a guest holds only what project roles give them
InvitableRole = Literal["admin", "developer", "viewer", "guest"]
Slug = DnsLabel  # a project's or an environment's


class CreateApp(Command, frozen=True, kw_only=True):
    name: AppName
    team: TeamSlug | None = None  # None: the caller's only team (or the token's)
    git_url: GitUrl | None = None
    branch: Branch = "main"
    build: BuildSettingsInput = msgspec.field(default_factory=BuildSettingsInput)
    port: Port = 8080
    domains: list[Domain] = msgspec.field(default_factory=list)
    health: HealthCheckInput = msgspec.field(default_factory=HealthCheckInput)
    resources: ResourcesInput = msgspec.field(default_factory=ResourcesInput)
    env: dict[EnvName, str] = msgspec.field(default_factory=dict)
    # credentials for a private repository; write-only, like env values
    git_token: GitToken | None = None
    deploy_key: DeployKey | None = None
    watch_paths: list[WatchPath] = msgspec.field(default_factory=list)
    previews: bool = False
    # pull requests from forks get previews too: without secrets, each head once approved
    previews_from_forks: bool = False
    project: Slug = "default"
    environment: Slug = "production"


class ChangeAppSettings(Command, frozen=True, kw_only=True):
    """A partial update: only the fields given change. An `env` value of null removes the key;
    a null `git_token` or `deploy_key` removes that credential."""

    name: AppName
    git_url: GitUrl | msgspec.UnsetType | None = msgspec.UNSET
    branch: Branch | msgspec.UnsetType = msgspec.UNSET
    build: BuildSettingsInput | msgspec.UnsetType = msgspec.UNSET
    port: Port | msgspec.UnsetType = msgspec.UNSET
    domains: list[Domain] | msgspec.UnsetType = msgspec.UNSET
    health: HealthCheckInput | msgspec.UnsetType = msgspec.UNSET
    resources: ResourcesInput | msgspec.UnsetType = msgspec.UNSET
    env: dict[EnvName, str | None] | msgspec.UnsetType = msgspec.UNSET
    git_token: GitToken | msgspec.UnsetType | None = msgspec.UNSET  # null removes it
    deploy_key: DeployKey | msgspec.UnsetType | None = msgspec.UNSET
    watch_paths: list[WatchPath] | msgspec.UnsetType = msgspec.UNSET
    previews: bool | msgspec.UnsetType = msgspec.UNSET
    previews_from_forks: bool | msgspec.UnsetType = msgspec.UNSET
    # each named variable's scopes; and its preview-only value (sealed by the service), null
    # to remove it
    env_scopes: dict[EnvName, VariableScopeInput] | msgspec.UnsetType = msgspec.UNSET
    env_preview: dict[EnvName, str | None] | msgspec.UnsetType = msgspec.UNSET


class VariableScopeInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where a variable's value goes (see `events.VariableScope`)."""

    build: bool = False
    runtime: bool = True
    preview: bool = True


class DeleteApp(Command, frozen=True, kw_only=True):
    name: AppName


class MoveApp(Command, frozen=True, kw_only=True):
    """Move an app to another environment of its team (its name, domains and releases stay)."""

    name: AppName
    project: Slug
    environment: Slug


class CreateProject(Command, frozen=True, kw_only=True):
    team: TeamSlug
    project: Slug
    name: str = ""  # shown on pages; the slug when empty
    environments: list[Slug] = msgspec.field(default_factory=lambda: ["production"])


class DeleteProject(Command, frozen=True, kw_only=True):
    team: TeamSlug
    project: Slug
    # what it still holds ("app web in staging"), looked up by the service: it must be empty
    holds: list[str] = msgspec.field(default_factory=list)


class CreateEnvironment(Command, frozen=True, kw_only=True):
    team: TeamSlug
    project: Slug
    environment: Slug


class DeleteEnvironment(Command, frozen=True, kw_only=True):
    team: TeamSlug
    project: Slug
    environment: Slug
    holds: list[str] = msgspec.field(default_factory=list)


ProjectCommand = CreateProject | DeleteProject | CreateEnvironment | DeleteEnvironment

# a shared variable's new value (sealed by the service), or None to remove it
SharedValues = dict[EnvName, str | None]


class ChangeTeamVariables(Command, frozen=True, kw_only=True):
    """Set or remove shared variables of a team (values sealed by the service)."""

    team: TeamSlug
    variables: SharedValues = msgspec.field(default_factory=dict)
    # each named variable's scopes; its preview-only value (sealed by the service), or None
    scopes: dict[EnvName, VariableScopeInput] = msgspec.field(default_factory=dict)
    preview: SharedValues = msgspec.field(default_factory=dict)


class ChangeProjectVariables(Command, frozen=True, kw_only=True):
    """Set or remove shared variables of a project, or of one of its environments."""

    team: TeamSlug
    project: Slug
    environment: Slug | None = None
    variables: SharedValues = msgspec.field(default_factory=dict)
    scopes: dict[EnvName, VariableScopeInput] = msgspec.field(default_factory=dict)
    preview: SharedValues = msgspec.field(default_factory=dict)


# a clone's pattern: literal text and {placeholders} (see `domain/clone_patterns.py`)
ClonePattern = Annotated[str, msgspec.Meta(min_length=1, max_length=253)]


class CloneEnvironment(Command, frozen=True, kw_only=True):
    """Copy every resource of an environment into another, empty one of the team (made when
    `create_environment` and missing), named and reached by the patterns given."""

    team: TeamSlug
    project: Slug
    environment: Slug
    to_project: Slug | None = None  # None: the same project
    to_environment: Slug
    name_pattern: ClonePattern = "{name}-{env}"
    domain_pattern: ClonePattern | None = None  # None: the copies get no domains
    create_environment: bool = False
    # what the target environment holds already, looked up by the service: it must be empty
    holds: list[str] = msgspec.field(default_factory=list)


class CreateToken(Command, frozen=True, kw_only=True):
    token_id: str
    name: str
    secret_hash: str
    scope: TokenScope = "admin"
    owner: str | None = None
    expires_at: str | None = None
    team: str | None = None
    parent_token_id: str | None = None  # minted by a token: that token, which bounds it
    project: str | None = None  # the one project of `team` it acts in (None: all of them)


class RevokeToken(Command, frozen=True, kw_only=True):
    token_id: str


class AssignTokenOwner(Command, frozen=True, kw_only=True):
    """Give an ownerless token (minted by the CLI before any account existed) to a user."""

    token_id: str
    owner: str
    team: str | None = None


class RequestDeployment(Command, frozen=True, kw_only=True):
    deployment_id: str
    app: AppName
    commit: Annotated[str, msgspec.Meta(pattern=whole(r"[0-9a-fA-F]{4,64}"))] | None = None
    trigger: DeploymentTrigger = "api"
    image: str | None = None
    rollback_of: str | None = None
    promoted_from: str | None = None  # the source release of a promotion (set by the service)


class CancelDeployment(Command, frozen=True, kw_only=True):
    deployment_id: str
    reason: str = "cancelled by request"


Email = Annotated[str, msgspec.Meta(pattern=whole(rf"[^@{SPACE}]{{1,64}}@[^@{SPACE}]{{1,255}}"))]


class CreateUser(Command, frozen=True, kw_only=True):
    email: Email
    password_hash: str
    role: UserRole = "viewer"


class RevokeSession(Command, frozen=True, kw_only=True):
    """End someone's session (an admin's doing; one's own sessions end by signing out)."""

    user_id: str
    session_id: str


class CreateTeam(Command, frozen=True, kw_only=True):
    team: TeamSlug
    name: str
    owner: str  # the user creating it


class AddMember(Command, frozen=True, kw_only=True):
    """Put an existing user in a team directly: the CLI's doing for the first admin."""

    team: TeamSlug
    user_id: str
    role: UserRole


class InviteMember(Command, frozen=True, kw_only=True):
    team: TeamSlug
    invitation_id: str
    email: Email
    role: InvitableRole
    secret_hash: str
    expires_at: str


class RevokeInvitation(Command, frozen=True, kw_only=True):
    team: TeamSlug
    invitation_id: str


class ChangeMemberRole(Command, frozen=True, kw_only=True):
    team: TeamSlug
    user_id: str
    role: InvitableRole


class RemoveMember(Command, frozen=True, kw_only=True):
    team: TeamSlug
    user_id: str


class TransferOwnership(Command, frozen=True, kw_only=True):
    team: TeamSlug
    to_user: str


class DeleteTeam(Command, frozen=True, kw_only=True):
    team: TeamSlug
    apps_left: int = 0  # how many apps the team still owns, as the service counted them
    # its projects but the default one, and the default project's environments but production
    # ("project shop", "environment default/staging"): they outlive nothing of the team
    places_left: list[str] = msgspec.field(default_factory=list)


class SetProjectRole(Command, frozen=True, kw_only=True):
    """Give a member another role in one project than their team role (None: take it back)."""

    team: TeamSlug
    user_id: str
    project: Slug
    role: ProjectRole | None


TeamCommand = (
    CreateTeam
    | AddMember
    | InviteMember
    | RevokeInvitation
    | ChangeMemberRole
    | RemoveMember
    | TransferOwnership
    | DeleteTeam
)


class EnrollTotp(Command, frozen=True, kw_only=True):
    """Set up a second factor (not asked for until confirmed). Only for oneself."""

    user_id: str
    secret: str  # sealed


class ConfirmTotp(Command, frozen=True, kw_only=True):
    """Turn the enrolled second factor on, with a code from the authenticator."""

    user_id: str
    totp_step: int | None  # the step the code matched, as the service checked it; None: none
    recovery_hashes: list[str]


class DisableTotp(Command, frozen=True, kw_only=True):
    """Oneself (with a valid code, checked by the service), or an instance admin for a user
    who lost their device."""

    user_id: str


class ResealTotp(Command, frozen=True, kw_only=True):
    """Seal a user's TOTP seed again with the newest key (an instance admin's or the CLI's)."""

    user_id: str
    secret: str


class SetWebhookSecret(Command, frozen=True, kw_only=True):
    """Turn the app's webhook on with a new secret (sealed by the service), or rotate it."""

    name: AppName
    secret: str
    reseal: bool = False  # the same secret sealed with a newer key, not a new one


class DisableWebhook(Command, frozen=True, kw_only=True):
    name: AppName


class OpenPreview(Command, frozen=True, kw_only=True):
    """Create the preview app of a pull request: the parent's settings, the PR's branch, the
    parent's domains under pr-<n>. (a webhook's doing)."""

    name: AppName
    preview_of: AppName
    pr_number: PrNumber
    branch: Branch
    env: dict[str, str] = msgspec.field(default_factory=dict)  # sealed for the preview's name
    git_token: str | None = None
    deploy_key: str | None = None
    git_url: GitUrl | None = None  # None: the parent's (a fork's preview: the fork's)


class AwaitPreviewApproval(Command, frozen=True, kw_only=True):
    """A pull request from a fork has a new head: hold its preview until a developer approves
    that commit, and take the parent's secrets back from it meanwhile (a webhook's doing)."""

    name: AppName  # the preview app
    preview_of: AppName
    parent_id: str  # the id of the app it previews
    pr_number: PrNumber
    commit: CommitId


class ApprovePreview(Command, frozen=True, kw_only=True):
    """Let the head commit of a fork's pull request deploy with the parent's secrets, which
    the service copies from the parent (sealed for the preview's id)."""

    name: AppName  # the preview app
    preview_of: AppName
    pr_number: PrNumber
    commit: CommitId
    env: dict[str, str] = msgspec.field(default_factory=dict)
    git_token: str | None = None
    deploy_key: str | None = None


class ClosePreview(Command, frozen=True, kw_only=True):
    """Delete a preview app once its pull request is closed or merged."""

    name: AppName


class ChangeInstanceSettings(Command, frozen=True, kw_only=True):
    """Change settings that take effect without a restart (an instance admin's doing); None
    gives a setting back to the config file or the default."""

    changes: dict[str, str | None]
    # setting -> where it is pinned (an environment variable, the command line), as the
    # service found it at start: such a setting cannot be changed from here
    pinned: dict[str, str] = msgspec.field(default_factory=dict)


class InstallCertificate(Command, frozen=True, kw_only=True):
    """Serve `domain` with a certificate the service has checked (its facts, not its key)."""

    app: AppName
    domain: Domain
    source: Literal["uploaded", "acme"] = "uploaded"
    not_before: str
    not_after: str
    issuer: str
    serial: str
    fingerprint: str
