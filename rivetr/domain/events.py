"""Every fact Rivetr records, as frozen msgspec Structs in one tagged union.

Tags are explicit and stable; a released shape is never edited. To change one, bump its
`SCHEMA_VERSIONS` entry and register an upcaster in `codec.py` that reads the old shape.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.control_plane_events import (
    ControlPlaneBackupDeleted,
    ControlPlaneBackupFailed,
    ControlPlaneBackupReadBack,
    ControlPlaneBackupRequested,
    ControlPlaneBackupStored,
    ControlPlaneBackupVerified,
    ControlPlaneRestored,
    ControlPlaneSchedulesSet,
)
from rivetr.domain.database_events import (
    BackupDeleted,
    BackupFailed,
    BackupReadBack,
    BackupRequested,
    BackupStored,
    BackupTargetRemoved,
    BackupTargetSet,
    BackupVerified,
    DatabaseActionRequested,
    DatabaseCreated,
    DatabaseDeleted,
    DatabaseFailed,
    DatabasePasswordRotated,
    DatabasePasswordRotationRequested,
    DatabasePasswordsResealed,
    DatabaseRunning,
    DatabaseSchedulesSet,
    DatabaseSettingsChanged,
    DatabaseStopped,
    DatabaseUpgraded,
    DatabaseUpgradeFailed,
    DatabaseUpgradeRequested,
    RestoreCompleted,
    RestoreFailed,
    RestoreRequested,
)
from rivetr.domain.event_base import Event as Event  # every event's base, re-exported
from rivetr.domain.host_events import (
    HostStorageFailed,
    HostStorageRecovered,
    HostThresholdCrossed,
    HostThresholdRecovered,
)
from rivetr.domain.job_events import (
    JobChanged,
    JobCreated,
    JobDeleted,
    JobRunFinished,
    JobRunRequested,
    JobRunStarted,
)
from rivetr.domain.notification_events import (
    ChannelRemoved,
    ChannelSet,
    NoticeDelivered,
    NoticeFailed,
)
from rivetr.domain.replica_events import (
    CopiesChanged,
    ImagePushed,
    ServiceStarted,
    TaskRunning,
    TrafficBalanced,
)
from rivetr.domain.scale_events import AppScaled
from rivetr.domain.settings import (
    BuildSettings,
    CommitId,
    Count,
    HealthCheck,
    Port,
    PrNumber,
    Resources,
    StatusCode,
    TotpStep,
)
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackCreated,
    StackDeleted,
    StackGitCredentialsChanged,
    StackReleaseFailed,
    StackReleaseRequested,
    StackReleaseRetired,
    StackReleaseSuperseded,
    StackServiceBalanced,
    StackServiceImageReady,
    StackServiceOnServers,
    StackServiceReady,
    StackServiceStarted,
    StackSettingsChanged,
    StackSourceFetched,
    StackSwitched,
    StackVariablesChanged,
    StackWebhookDisabled,
    StackWebhookSecretSet,
)
from rivetr.domain.swarm_events import (
    SwarmBuildNodeCleared,
    SwarmBuildNodeSet,
    SwarmInitialised,
    SwarmInitRequested,
    SwarmNodeChanged,
    SwarmNodeChangeRequested,
    SwarmNodeDescribed,
    SwarmNodeInvited,
    SwarmNodeJoined,
    SwarmNodeJoinFailed,
    SwarmNodeJoinTimedOut,
    SwarmNodeRemoved,
    SwarmNodeStateChanged,
    SwarmOperationFailed,
    SwarmOrphanRemoved,
    SwarmRegistryCleared,
    SwarmRegistryHosted,
    SwarmRegistrySet,
    SwarmRegistryStopped,
)

# --- applications (stream "app-<id>"; before ids, "app-<name>") -----------------------------------


class AppCreated(Event, frozen=True, kw_only=True, tag="app.created"):
    # the app's own id, never shared with a later app of the same name (v3); an app created
    # before ids (v2 and older) is known by "<name>.<position of this event>"
    app_id: str
    name: str
    team: str = "default"  # the team that owns the app; older events: the default team
    git_url: str | None = None
    branch: str = "main"
    build: BuildSettings = msgspec.field(default_factory=BuildSettings)
    port: Port = 8080
    domains: list[str] = msgspec.field(default_factory=list)
    health: HealthCheck = msgspec.field(default_factory=HealthCheck)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    resources: Resources = msgspec.field(default_factory=Resources)  # older events: defaults
    watch_paths: list[str] = msgspec.field(default_factory=list)  # webhook pushes: [] = any
    previews: bool = False  # deploy pull requests as preview apps
    preview_of: str | None = None  # for a preview app: the app it previews...
    pr_number: PrNumber | None = None  # ...and the pull request it deploys
    previews_from_forks: bool = False  # pull requests from forks too, each head once approved
    # where the app lives; older events: the team's default project, its production environment
    project: str = "default"
    environment: str = "production"


class AppSettingsChanged(Event, frozen=True, kw_only=True, tag="app.settings_changed"):
    """Only the settings present changed; absent fields kept their value."""

    name: str
    git_url: str | msgspec.UnsetType | None = msgspec.UNSET
    branch: str | msgspec.UnsetType = msgspec.UNSET
    build: BuildSettings | msgspec.UnsetType = msgspec.UNSET
    port: Port | msgspec.UnsetType = msgspec.UNSET
    domains: list[str] | msgspec.UnsetType = msgspec.UNSET
    health: HealthCheck | msgspec.UnsetType = msgspec.UNSET
    resources: Resources | msgspec.UnsetType = msgspec.UNSET
    watch_paths: list[str] | msgspec.UnsetType = msgspec.UNSET
    previews: bool | msgspec.UnsetType = msgspec.UNSET
    previews_from_forks: bool | msgspec.UnsetType = msgspec.UNSET


class AppEnvChanged(Event, frozen=True, kw_only=True, tag="app.env_changed"):
    name: str
    set: dict[str, str] = msgspec.field(default_factory=dict)
    unset: list[str] = msgspec.field(default_factory=list)


class VariableScope(msgspec.Struct, frozen=True, kw_only=True):
    """Where a variable's value goes: the build (as a build argument), the running container,
    and the app's pull-request previews. A variable without one of these is runtime and
    preview (what every env value was before variables had scopes)."""

    build: bool = False
    runtime: bool = True
    preview: bool = True


class AppVariableScopesChanged(Event, frozen=True, kw_only=True, tag="app.variable_scopes_changed"):
    """The scopes of the app's variables named in `scopes`, and their preview-only values
    (sealed; `preview_unset`: no more override, previews take the value itself)."""

    name: str
    scopes: dict[str, VariableScope] = msgspec.field(default_factory=dict)
    preview_values: dict[str, str] = msgspec.field(default_factory=dict)
    preview_unset: list[str] = msgspec.field(default_factory=list)


class AppGitCredentialsChanged(Event, frozen=True, kw_only=True, tag="app.git_credentials_changed"):
    """The credentials used to fetch a private repository, as they are now (None: none)."""

    name: str
    token: str | None = None
    deploy_key: str | None = None


class AppDeleted(Event, frozen=True, kw_only=True, tag="app.deleted"):
    name: str


class AppMoved(Event, frozen=True, kw_only=True, tag="app.moved"):
    """The app now lives in another environment (of the same team's projects)."""

    name: str
    from_project: str
    from_environment: str
    project: str
    environment: str


class WebhookSecretSet(Event, frozen=True, kw_only=True, tag="app.webhook_secret_set"):
    """The app accepts webhooks signed with this secret (sealed); `rotated`: it replaced one."""

    name: str
    secret: str
    rotated: bool = False


class WebhookDisabled(Event, frozen=True, kw_only=True, tag="app.webhook_disabled"):
    name: str


class PreviewAwaitingApproval(
    Event, frozen=True, kw_only=True, tag="app.preview_awaiting_approval"
):
    """On a preview app's stream: its pull request comes from a fork and has a new head,
    `commit`, which it deploys only once a developer approves that commit. Until then the
    preview holds none of its parent's secrets."""

    name: str  # the preview app
    preview_of: str
    parent_id: str  # the id of the app it previews
    pr_number: PrNumber
    commit: CommitId


class PreviewApproved(Event, frozen=True, kw_only=True, tag="app.preview_approved"):
    """A developer (the event's actor) approved `commit`, the head of a pull request from a
    fork, to deploy with the parent's env values and git credentials."""

    name: str  # the preview app
    preview_of: str
    pr_number: PrNumber
    commit: CommitId


# --- projects and their environments (stream "project-<team>/<project>") ------------------------


class ProjectCreated(Event, frozen=True, kw_only=True, tag="project.created"):
    """A team's project, with its first environments (`production` always among them)."""

    team: str
    project: str  # the slug, a DNS label, unique in its team
    name: str
    environments: list[str]


class ProjectDeleted(Event, frozen=True, kw_only=True, tag="project.deleted"):
    team: str
    project: str


class EnvironmentCreated(Event, frozen=True, kw_only=True, tag="project.environment_created"):
    team: str
    project: str
    environment: str


class EnvironmentDeleted(Event, frozen=True, kw_only=True, tag="project.environment_deleted"):
    team: str
    project: str
    environment: str


class ProjectVariablesChanged(Event, frozen=True, kw_only=True, tag="project.variables_changed"):
    """Shared variables of the project (`environment` None) or of one of its environments:
    values sealed, as an app's env values are."""

    team: str
    project: str
    environment: str | None = None
    set: dict[str, str] = msgspec.field(default_factory=dict)
    unset: list[str] = msgspec.field(default_factory=list)
    # each named variable's scopes, and its preview-only value (sealed), as an app's have
    scopes: dict[str, VariableScope] = msgspec.field(default_factory=dict)
    preview_values: dict[str, str] = msgspec.field(default_factory=dict)
    preview_unset: list[str] = msgspec.field(default_factory=list)


class ClonedResource(msgspec.Struct, frozen=True, kw_only=True):
    """One resource of a cloned environment and the copy made of it: its counterpart."""

    kind: Literal["app"] = "app"  # databases and stacks join when they exist
    from_id: str
    from_name: str
    id: str
    name: str


class EnvironmentCloned(Event, frozen=True, kw_only=True, tag="project.environment_cloned"):
    """Every resource of `from_project`/`from_environment` was copied into this project's
    `environment` (on the stream of the project cloned into), each copy created by its own
    events in the same transaction."""

    team: str
    project: str
    environment: str
    from_project: str
    from_environment: str
    resources: list[ClonedResource]


# --- claims: what no two resources may hold at once (stream "claims") -----------------------------


class NameClaimed(Event, frozen=True, kw_only=True, tag="claim.name_claimed"):
    """`name` belongs to the app `resource_id` while it lives."""

    name: str
    resource_id: str
    team: str


class NameReleased(Event, frozen=True, kw_only=True, tag="claim.name_released"):
    name: str
    resource_id: str


class DomainsClaimed(Event, frozen=True, kw_only=True, tag="claim.domains_claimed"):
    resource_id: str
    team: str
    domains: list[str]


class DomainsReleased(Event, frozen=True, kw_only=True, tag="claim.domains_released"):
    resource_id: str
    domains: list[str]


class LegacyClaimsAdopted(Event, frozen=True, kw_only=True, tag="claim.legacy_adopted"):
    """The names and domains of the `apps` created before claims existed are claimed (the
    claims before this event); from here on every claim is decided in this stream."""

    apps: Count


# --- certificates (stream "cert-<domain>") --------------------------------------------------------

CertificateSource = Literal["uploaded", "acme"]


class CertificateInstalled(Event, frozen=True, kw_only=True, tag="certificate.installed"):
    """A certificate now serves `domain` (the chain and key are in the data directory)."""

    domain: str
    app: str
    source: CertificateSource
    not_before: str
    not_after: str
    issuer: str
    serial: str
    fingerprint: str  # SHA-256 of the leaf
    stack_id: str | None = None  # a compose stack's domain: `app` is then the stack's name


class CertificateFailed(Event, frozen=True, kw_only=True, tag="certificate.failed"):
    domain: str
    app: str
    source: CertificateSource
    detail: str  # the reason, in a sentence, or the CA's error detail
    technical: str | None = None  # what a library said, shown folded away (older events: none)
    stack_id: str | None = None  # as in CertificateInstalled


class CertificateRenewalAdvised(
    Event, frozen=True, kw_only=True, tag="certificate.renewal_advised"
):
    """The CA's renewal information (ACME ARI, RFC 9773) for the certificate with this
    fingerprint: renew at `renew_at`, a point drawn in the window the CA suggested. Recorded
    when the advice changes, not each time it is fetched."""

    domain: str
    app: str
    fingerprint: str
    window_start: str
    window_end: str
    renew_at: str


# --- webhook deliveries (stream "hook-<provider>-sha256-<digest of app and body>") -----------

WebhookDecision = Literal[
    "deploy", "preview", "close_preview", "pending_approval", "ignored", "refused", "replayed"
]


class WebhookReceived(Event, frozen=True, kw_only=True, tag="webhook.received"):
    """One delivery and what was done with it: enough to answer "why didn't my push deploy?"
    without keeping the payload."""

    app: str  # the name in the URL
    provider: str
    event: str | None  # the provider's event header
    delivery_id: str | None
    signature: Literal["valid", "invalid", "missing", "no secret"]
    decision: WebhookDecision
    reason: str
    ref: str | None = None
    commit: str | None = None
    pr_number: PrNumber | None = None
    action: str | None = None
    deployment_id: str | None = None
    remote: str | None = None
    app_id: str | None = None  # the app that name was then; None: no such app (or older)
    # a delivery to a stack's URL (/webhooks/stacks/<provider>/<id>): the id it named, and
    # `app` is then the stack's name (that id when no stack has it); None: to an app's URL
    stack_id: str | None = None


# --- API tokens (stream "token-<id>") -----------------------------------------------------------

TokenScope = Literal["read", "deploy", "admin"]


class TokenCreated(Event, frozen=True, kw_only=True, tag="token.created"):
    token_id: str
    name: str
    secret_hash: str  # hex SHA-256 of the token; the token itself is shown once and never stored
    scope: TokenScope = "admin"
    owner: str | None = None  # the user who minted it (None: the CLI, before accounts)
    expires_at: str | None = None  # ISO 8601, UTC; None: until revoked
    team: str | None = None  # the team it acts in (None: every team, as the CLI's tokens do)
    parent_token_id: str | None = None  # the token that minted it; older events: None
    project: str | None = None  # the one project of its team it acts in; older events: None


class TokenRevoked(Event, frozen=True, kw_only=True, tag="token.revoked"):
    token_id: str


class TokenOwnerAssigned(Event, frozen=True, kw_only=True, tag="token.owner_assigned"):
    token_id: str
    owner: str
    team: str | None = None  # the team the token acts in from now on


# --- users and their sessions (stream "user-<email>") ---------------------------------------------

# a guest holds nothing in the team's projects but what a project role gives them
UserRole = Literal["owner", "admin", "developer", "viewer", "guest"]


class UserCreated(Event, frozen=True, kw_only=True, tag="user.created"):
    user_id: str  # the normalised e-mail address
    email: str
    password_hash: str  # argon2id, never the password
    role: UserRole = "viewer"


class LoginFailed(Event, frozen=True, kw_only=True, tag="user.login_failed"):
    """A refused sign-in: wrong password, unknown address (stream "auth"), a locked account, or
    a right password with a wrong (or replayed) second-factor code."""

    email: str
    reason: Literal["wrong password", "unknown email", "locked", "wrong code"]
    at: str  # ISO 8601, UTC
    remote: str | None = None


class UserLockedOut(Event, frozen=True, kw_only=True, tag="user.locked_out"):
    """Too many failed sign-ins in a row: every sign-in is refused until `until`."""

    user_id: str
    until: str  # ISO 8601, UTC
    failures: Count


class SessionStarted(Event, frozen=True, kw_only=True, tag="user.session_started"):
    user_id: str
    session_id: str
    secret_hash: str  # hex SHA-256 of the session cookie's value
    at: str
    expires_at: str
    remote: str | None = None
    second_factor: Literal["totp", "recovery"] | None = None
    totp_step: TotpStep | None = None  # the 30-second step of the code used; never accepted again


class SessionEnded(Event, frozen=True, kw_only=True, tag="user.session_ended"):
    user_id: str
    session_id: str
    reason: Literal["logout", "revoked"]  # who revoked it is the event's actor


class TotpEnrolled(Event, frozen=True, kw_only=True, tag="user.totp_enrolled"):
    """A second factor was set up but not yet confirmed with a code: not asked for at sign-in."""

    user_id: str
    secret: str  # the TOTP seed, sealed (rvs1:...) like every other secret


class TotpEnabled(Event, frozen=True, kw_only=True, tag="user.totp_enabled"):
    """Confirmed with a code: sign-in now needs a code (or one of the recovery codes)."""

    user_id: str
    recovery_hashes: list[str]  # SHA-256 of each one-time recovery code; the codes are shown once


class TotpResealed(Event, frozen=True, kw_only=True, tag="user.totp_resealed"):
    """The same seed, sealed with a newer key (`rivetr secrets rotate`)."""

    user_id: str
    secret: str


class TotpDisabled(Event, frozen=True, kw_only=True, tag="user.totp_disabled"):
    user_id: str


class RecoveryCodeUsed(Event, frozen=True, kw_only=True, tag="user.recovery_code_used"):
    user_id: str
    code_hash: str


# --- teams (stream "team-<slug>") -----------------------------------------------------------------


class TeamCreated(Event, frozen=True, kw_only=True, tag="team.created"):
    team: str  # the slug, as in URLs
    name: str
    owner: str  # a user id


class MemberAdded(Event, frozen=True, kw_only=True, tag="team.member_added"):
    team: str
    user_id: str
    role: UserRole
    invitation_id: str | None = None  # None: added directly (the first admin, by the CLI)


class MemberRoleChanged(Event, frozen=True, kw_only=True, tag="team.member_role_changed"):
    team: str
    user_id: str
    role: UserRole


class MemberRemoved(Event, frozen=True, kw_only=True, tag="team.member_removed"):
    team: str
    user_id: str


class OwnershipTransferred(Event, frozen=True, kw_only=True, tag="team.ownership_transferred"):
    """`to_user` becomes the owner; the former owner stays on as an admin."""

    team: str
    from_user: str
    to_user: str


class TeamDeleted(Event, frozen=True, kw_only=True, tag="team.deleted"):
    team: str


class InvitationCreated(Event, frozen=True, kw_only=True, tag="team.invitation_created"):
    team: str
    invitation_id: str
    email: str
    role: UserRole
    secret_hash: str  # SHA-256 of the link's secret; the link is shown once
    expires_at: str


class InvitationAccepted(Event, frozen=True, kw_only=True, tag="team.invitation_accepted"):
    team: str
    invitation_id: str
    user_id: str


class InvitationRevoked(Event, frozen=True, kw_only=True, tag="team.invitation_revoked"):
    team: str
    invitation_id: str


# a member's role in one project of the team, in place of their team role there ("none": no
# access to that project at all)
ProjectRole = Literal["admin", "developer", "viewer", "none"]


class ProjectRoleSet(Event, frozen=True, kw_only=True, tag="team.project_role_set"):
    team: str
    user_id: str
    project: str
    role: ProjectRole | None  # None: the override is removed, the team role applies there again


class StackAllowancesSet(Event, frozen=True, kw_only=True, tag="team.stack_allowances_set"):
    """What an instance admin allows the team's compose stacks to ask of the host, whole: it
    replaces what was allowed before (a team deleted and made again starts with nothing)."""

    team: str
    allowances: Allowances


class TeamVariablesChanged(Event, frozen=True, kw_only=True, tag="team.variables_changed"):
    """Shared variables of the team, values sealed, as an app's env values are."""

    team: str
    set: dict[str, str] = msgspec.field(default_factory=dict)
    unset: list[str] = msgspec.field(default_factory=list)
    # each named variable's scopes, and its preview-only value (sealed), as an app's have
    scopes: dict[str, VariableScope] = msgspec.field(default_factory=dict)
    preview_values: dict[str, str] = msgspec.field(default_factory=dict)
    preview_unset: list[str] = msgspec.field(default_factory=list)


# --- deployments (stream "deployment-<id>") ------------------------------------------------------

# "rebuild": the reconciler's, for a live release whose image is no longer on the host (a
# restore onto a new machine, an image removed by hand): built again from its commit
DeploymentTrigger = Literal["api", "cli", "webhook", "rollback", "dashboard", "rebuild"]


class DeploymentRequested(Event, frozen=True, kw_only=True, tag="deployment.requested"):
    """A deployment of `app` was asked for. With `image` set (a rollback or a redeploy of a
    retained release) the source and build steps are skipped."""

    deployment_id: str
    app: str  # its name when requested
    branch: str
    app_id: str | None = None  # None: requested before apps had ids (its name then tells)
    commit: str | None = None  # a specific commit; None means the branch head
    trigger: DeploymentTrigger = "api"
    image: str | None = None
    rollback_of: str | None = None  # the deployment whose image is being redeployed
    # a promotion: the release (deployment id) live in another app whose image this deploys,
    # and that app's id and name then (None for every other request, and in older events)
    promoted_from: str | None = None
    promoted_from_app_id: str | None = None
    promoted_from_app: str | None = None


class SourceFetched(Event, frozen=True, kw_only=True, tag="deployment.source_fetched"):
    deployment_id: str
    commit_sha: str
    commit_message: str
    duration_ms: float


class BuildStarted(Event, frozen=True, kw_only=True, tag="deployment.build_started"):
    deployment_id: str
    builder: str  # dockerfile, static, nixpacks, railpack, buildpacks


class ImageBuilt(Event, frozen=True, kw_only=True, tag="deployment.image_built"):
    deployment_id: str
    image: str
    duration_ms: float
    # the TCP ports the image declares (EXPOSE), and the port the app was set to then: older
    # events, and engines that would not say, carry None (unknown, never "none exposed")
    exposed_ports: list[Port] | None = None
    port: Port | None = None


class ContainerStarted(Event, frozen=True, kw_only=True, tag="deployment.container_started"):
    deployment_id: str
    container_id: str
    container_name: str
    image: str
    host_port: Port
    duration_ms: float


class HealthProbed(Event, frozen=True, kw_only=True, tag="deployment.health_probed"):
    deployment_id: str
    attempt: Count
    ok: bool
    status: StatusCode | None = None
    error: str | None = None
    duration_ms: float
    url: str | None = None  # what was asked (GET <url>); older events: not recorded


class DeploymentHealthy(Event, frozen=True, kw_only=True, tag="deployment.healthy"):
    deployment_id: str
    probes: Count
    duration_ms: float


class TrafficSwitched(Event, frozen=True, kw_only=True, tag="deployment.traffic_switched"):
    """The app's traffic now goes to this deployment: it is the live release."""

    deployment_id: str
    app: str
    host_port: Port
    previous_deployment_id: str | None = None


class DeploymentSuperseded(Event, frozen=True, kw_only=True, tag="deployment.superseded"):
    """A newer release took the traffic; this one drains until `drain_deadline_s` passes."""

    deployment_id: str
    by_deployment_id: str
    drain_s: float


class DeploymentRetired(Event, frozen=True, kw_only=True, tag="deployment.retired"):
    deployment_id: str
    container_removed: bool
    reason: str | None = None  # set when not simply superseded (its app was deleted)


class ReleaseRestarted(Event, frozen=True, kw_only=True, tag="deployment.restarted"):
    """The live release's container was found dead (`reason`) and a new one was started from
    the same image; traffic goes to its `host_port` now. `healthy` says whether it passed the
    app's health check before the boot deadline."""

    deployment_id: str
    app: str
    reason: str
    container_id: str
    container_name: str
    host_port: Port
    healthy: bool


class ReleaseRestartFailed(Event, frozen=True, kw_only=True, tag="deployment.restart_failed"):
    """The live release's container was found dead and could not be started again."""

    deployment_id: str
    app: str
    reason: str


class DeploymentFailed(Event, frozen=True, kw_only=True, tag="deployment.failed"):
    """The deployment stopped at `step`; whatever was live before keeps serving."""

    deployment_id: str
    step: str
    reason: str
    log_tail: list[str] = msgspec.field(default_factory=list)


class RollbackStarted(Event, frozen=True, kw_only=True, tag="deployment.rollback_started"):
    """This release was live and failed; traffic goes back to `to_deployment_id`."""

    deployment_id: str
    to_deployment_id: str | None
    reason: str


class RolledBack(Event, frozen=True, kw_only=True, tag="deployment.rolled_back"):
    deployment_id: str
    app: str
    to_deployment_id: str | None
    host_port: Port | None


class DeploymentCancelled(Event, frozen=True, kw_only=True, tag="deployment.cancelled"):
    deployment_id: str
    reason: str
    superseded_by: str | None = None


class VariableUse(msgspec.Struct, frozen=True, kw_only=True):
    """The app's variable `name` took the variable `key` of `source` (`team`, `project`,
    `environment`, or `app` for its own value): where a value came from, never the value."""

    name: str
    source: str
    key: str


class VariablesResolved(Event, frozen=True, kw_only=True, tag="deployment.variables_resolved"):
    """The references in the app's variables were resolved for this deployment: which shared
    variables each used, and from where (never a value)."""

    deployment_id: str
    used: list[VariableUse] = msgspec.field(default_factory=list)


# --- the instance (stream "instance-settings") ------------------------------------------------


class InstanceSettingsChanged(Event, frozen=True, kw_only=True, tag="instance.settings_changed"):
    """Instance settings changed while it runs (from the dashboard): each value wins over the
    config file's and the default; an environment variable, when set, wins over it. A value of
    None gives the setting back to the config file (or the default)."""

    changes: dict[str, str | None]


# --- the container engine (stream "engine") -----------------------------------------------------


class EngineConnected(Event, frozen=True, kw_only=True, tag="engine.connected"):
    kind: str
    version: str
    url: str


class EngineLost(Event, frozen=True, kw_only=True, tag="engine.lost"):
    reason: str


class OrphanContainerRemoved(Event, frozen=True, kw_only=True, tag="engine.orphan_removed"):
    """A container Rivetr labelled that belonged to no live or in-flight release."""

    container_name: str
    deployment_id: str | None


class ImagePruned(Event, frozen=True, kw_only=True, tag="engine.image_pruned"):
    """An image Rivetr built for `app` was removed: older than the releases kept for rollback."""

    app: str
    image: str
    deployment_id: str | None


AnyEvent = (
    AppCreated
    | AppSettingsChanged
    | AppEnvChanged
    | AppVariableScopesChanged
    | AppGitCredentialsChanged
    | AppDeleted
    | AppScaled
    | ImagePushed
    | ServiceStarted
    | TaskRunning
    | TrafficBalanced
    | CopiesChanged
    | AppMoved
    | ProjectCreated
    | ProjectDeleted
    | EnvironmentCreated
    | EnvironmentDeleted
    | ProjectVariablesChanged
    | EnvironmentCloned
    | WebhookSecretSet
    | WebhookDisabled
    | NameClaimed
    | NameReleased
    | DomainsClaimed
    | DomainsReleased
    | LegacyClaimsAdopted
    | PreviewAwaitingApproval
    | PreviewApproved
    | WebhookReceived
    | CertificateInstalled
    | CertificateFailed
    | CertificateRenewalAdvised
    | TokenCreated
    | TokenRevoked
    | TokenOwnerAssigned
    | UserCreated
    | LoginFailed
    | UserLockedOut
    | SessionStarted
    | SessionEnded
    | TotpEnrolled
    | TotpEnabled
    | TotpResealed
    | TotpDisabled
    | RecoveryCodeUsed
    | TeamCreated
    | MemberAdded
    | MemberRoleChanged
    | MemberRemoved
    | OwnershipTransferred
    | TeamDeleted
    | InvitationCreated
    | InvitationAccepted
    | InvitationRevoked
    | ProjectRoleSet
    | TeamVariablesChanged
    | StackAllowancesSet
    | InstanceSettingsChanged
    | EngineConnected
    | EngineLost
    | OrphanContainerRemoved
    | ImagePruned
    | DeploymentRequested
    | SourceFetched
    | BuildStarted
    | ImageBuilt
    | ContainerStarted
    | HealthProbed
    | DeploymentHealthy
    | TrafficSwitched
    | DeploymentSuperseded
    | DeploymentRetired
    | ReleaseRestarted
    | ReleaseRestartFailed
    | DeploymentFailed
    | RollbackStarted
    | RolledBack
    | DeploymentCancelled
    | VariablesResolved
    | DatabaseCreated
    | DatabaseSettingsChanged
    | DatabaseActionRequested
    | DatabaseRunning
    | DatabaseStopped
    | DatabaseFailed
    | DatabasePasswordRotationRequested
    | DatabasePasswordRotated
    | DatabasePasswordsResealed
    | DatabaseSchedulesSet
    | DatabaseUpgradeRequested
    | DatabaseUpgraded
    | DatabaseUpgradeFailed
    | DatabaseDeleted
    | BackupTargetSet
    | BackupTargetRemoved
    | BackupRequested
    | BackupStored
    | BackupReadBack
    | BackupVerified
    | BackupFailed
    | BackupDeleted
    | RestoreRequested
    | RestoreCompleted
    | RestoreFailed
    | StackCreated
    | StackSettingsChanged
    | StackVariablesChanged
    | StackGitCredentialsChanged
    | StackDeleted
    | StackWebhookSecretSet
    | StackWebhookDisabled
    | StackReleaseRequested
    | StackSourceFetched
    | StackComposeRead
    | StackServiceImageReady
    | StackServiceStarted
    | StackServiceOnServers
    | StackServiceBalanced
    | StackServiceReady
    | StackSwitched
    | StackReleaseFailed
    | StackReleaseSuperseded
    | StackReleaseRetired
    | ChannelSet
    | ChannelRemoved
    | NoticeDelivered
    | NoticeFailed
    | JobCreated
    | JobChanged
    | JobDeleted
    | JobRunRequested
    | JobRunStarted
    | JobRunFinished
    | HostThresholdCrossed
    | HostStorageFailed
    | HostStorageRecovered
    | HostThresholdRecovered
    | ControlPlaneBackupRequested
    | ControlPlaneBackupStored
    | ControlPlaneBackupReadBack
    | ControlPlaneBackupVerified
    | ControlPlaneBackupFailed
    | ControlPlaneBackupDeleted
    | ControlPlaneSchedulesSet
    | ControlPlaneRestored
    | SwarmInitRequested
    | SwarmInitialised
    | SwarmNodeInvited
    | SwarmNodeJoined
    | SwarmNodeDescribed
    | SwarmNodeJoinFailed
    | SwarmNodeJoinTimedOut
    | SwarmNodeChangeRequested
    | SwarmNodeChanged
    | SwarmNodeRemoved
    | SwarmNodeStateChanged
    | SwarmOperationFailed
    | SwarmOrphanRemoved
    | SwarmRegistrySet
    | SwarmRegistryCleared
    | SwarmRegistryHosted
    | SwarmRegistryStopped
    | SwarmBuildNodeSet
    | SwarmBuildNodeCleared
)

EVENT_TYPES: dict[str, type[Event]] = {cls.__struct_config__.tag: cls for cls in AnyEvent.__args__}

# The current schema version of each event type; 1 unless listed.
SCHEMA_VERSIONS: dict[str, int] = {
    # v1 carried a single optional `domain`; v2 carries `domains`; v3 the app's own `app_id`.
    "app.created": 3,
}


def event_tag(event: Event) -> str:
    tag = event.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def schema_version(tag: str) -> int:
    return SCHEMA_VERSIONS.get(tag, 1)
