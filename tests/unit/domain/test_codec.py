"""Stored bytes and back: every event type round-trips, old shapes are upcast, unknown ones
refused."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from rivetr.domain import codec
from rivetr.domain.codec import UPCASTERS, UnknownEventType
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.control_plane_events import (
    ControlPlaneBackupDeleted,
    ControlPlaneBackupFailed,
    ControlPlaneBackupReadBack,
    ControlPlaneBackupRequested,
    ControlPlaneBackupStored,
    ControlPlaneBackupVerified,
    ControlPlaneFile,
    ControlPlaneRestored,
    ControlPlaneSchedule,
    ControlPlaneSchedulesSet,
)
from rivetr.domain.database_events import (
    BackupDeleted,
    BackupFailed,
    BackupReadBack,
    BackupRequested,
    BackupSchedule,
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
    S3Settings,
)
from rivetr.domain.events import (
    EVENT_TYPES,
    SCHEMA_VERSIONS,
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppGitCredentialsChanged,
    AppMoved,
    AppSettingsChanged,
    AppVariableScopesChanged,
    BuildStarted,
    CertificateFailed,
    CertificateInstalled,
    CertificateRenewalAdvised,
    ClonedResource,
    ContainerStarted,
    DeploymentCancelled,
    DeploymentFailed,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentRetired,
    DeploymentSuperseded,
    DomainsClaimed,
    DomainsReleased,
    EngineConnected,
    EngineLost,
    EnvironmentCloned,
    EnvironmentCreated,
    EnvironmentDeleted,
    Event,
    HealthProbed,
    ImageBuilt,
    ImagePruned,
    InstanceSettingsChanged,
    InvitationAccepted,
    InvitationCreated,
    InvitationRevoked,
    LegacyClaimsAdopted,
    LoginFailed,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    NameClaimed,
    NameReleased,
    OrphanContainerRemoved,
    OwnershipTransferred,
    PreviewApproved,
    PreviewAwaitingApproval,
    ProjectCreated,
    ProjectDeleted,
    ProjectRoleSet,
    ProjectVariablesChanged,
    RecoveryCodeUsed,
    ReleaseRestarted,
    ReleaseRestartFailed,
    RollbackStarted,
    RolledBack,
    SessionEnded,
    SessionStarted,
    SourceFetched,
    StackAllowancesSet,
    TeamCreated,
    TeamDeleted,
    TeamVariablesChanged,
    TokenCreated,
    TokenOwnerAssigned,
    TokenRevoked,
    TotpDisabled,
    TotpEnabled,
    TotpEnrolled,
    TotpResealed,
    TrafficSwitched,
    UserCreated,
    UserLockedOut,
    VariableScope,
    VariablesResolved,
    VariableUse,
    WebhookDisabled,
    WebhookReceived,
    WebhookSecretSet,
)
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
    LeftCopy,
    Member,
    ServiceStarted,
    TaskRunning,
    TrafficBalanced,
)
from rivetr.domain.scale_events import AppScaled, Placement
from rivetr.domain.settings import BuildSettings, HealthCheck
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackCreated,
    StackDeleted,
    StackGitCredentialsChanged,
    StackReleaseFailed,
    StackReleaseRequested,
    StackReleaseRetired,
    StackReleaseSuperseded,
    StackRoute,
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

REPLICA = Member(task_id="t1", node="vps-2", address="10.0.0.2", port=30001)

DATABASE_EVENTS: list[Event] = [
    DatabaseCreated(
        database_id="db0000000001",
        name="pg",
        team="a",
        project="shop",
        environment="staging",
        kind="postgres",
        version="16",
        image="postgres:16-alpine",
        port=5432,
        public_port=15432,
        user="app",
        database="app",
        password="rvs2:k:v",
    ),
    DatabaseSettingsChanged(database_id="db0000000001", public_port=None),
    DatabaseActionRequested(database_id="db0000000001", action="restart"),
    DatabaseRunning(database_id="db0000000001", container="c1", image="postgres:16-alpine"),
    DatabaseStopped(database_id="db0000000001", reason="exited 137"),
    DatabaseFailed(database_id="db0000000001", during="start", reason="unhealthy"),
    DatabasePasswordRotationRequested(database_id="db0000000001", password="rvs2:k:w"),
    DatabasePasswordRotated(database_id="db0000000001"),
    DatabasePasswordsResealed(database_id="db0000000001", password="rvs2:k2:abc"),
    DatabaseSchedulesSet(
        database_id="db0000000001", schedules=[BackupSchedule(cron="0 3 * * *", target="s3")]
    ),
    DatabaseUpgradeRequested(
        database_id="db0000000001",
        upgrade_id="up0000000001",
        version="17",
        image="postgres:17-alpine",
        from_version="16",
        from_image="postgres:16-alpine",
    ),
    DatabaseUpgraded(
        database_id="db0000000001", upgrade_id="up0000000001", version="17", image="p:17"
    ),
    DatabaseUpgradeFailed(
        database_id="db0000000001", upgrade_id="up0000000001", reason="unhealthy", rolled_back=True
    ),
    DatabaseDeleted(database_id="db0000000001", name="pg", volume_kept=True),
    BackupTargetSet(
        team="a",
        name="s3",
        kind="s3",
        s3=S3Settings(
            endpoint="https://s3.example.com",
            bucket="backups",
            access_key="AK",
            secret_key="rvs2:k:s",
        ),
        keep_last=7,
        keep_days=30,
    ),
    BackupTargetRemoved(team="a", name="s3"),
    BackupRequested(
        backup_id="bk0000000001",
        database_id="db0000000001",
        team="a",
        project="shop",
        environment="staging",
        kind="postgres",
        image="postgres:16-alpine",
        target="local",
        reason="on_demand",
    ),
    BackupStored(
        backup_id="bk0000000001", key="k.dump", size=10, sha256="ab", counts={"public.t": 3}
    ),
    BackupReadBack(backup_id="bk0000000001", size=10, sha256="ab"),
    BackupVerified(backup_id="bk0000000001", counts={"public.t": 3}, seconds=1.5),
    BackupFailed(backup_id="bk0000000001", step="store", reason="disk full"),
    BackupDeleted(backup_id="bk0000000001", reason="retention: keep_last 7"),
    RestoreRequested(
        restore_id="rs0000000001", backup_id="bk0000000001", database_id="db0000000001"
    ),
    RestoreCompleted(restore_id="rs0000000001", counts={"public.t": 3}),
    RestoreFailed(restore_id="rs0000000001", reason="another kind's backup"),
]

JOB_EVENTS: list[Event] = [
    JobCreated(
        job_id="jb0000000001",
        owner_id="st0000000001",
        kind="stack",
        service="web",
        name="nightly",
        command=["python", "manage.py", "clearsessions"],
        schedule="0 3 * * *",
        time_zone="Europe/Berlin",
        overlap="replace",
        timeout_s=600,
        retries=2,
        on_missed="run_once",
    ),
    JobChanged(job_id="jb0000000001", command="echo hi", enabled=False),
    JobDeleted(job_id="jb0000000001"),
    JobRunRequested(
        run_id="rn0000000001",
        job_id="jb0000000001",
        job="nightly",
        owner_id="ap0000000001",
        owner_name="web",
        trigger="missed",
        scheduled_for=datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
    ),
    JobRunStarted(
        run_id="rn0000000001", job_id="jb0000000001", attempt=1, image="sha256:ab", container="c"
    ),
    JobRunFinished(
        run_id="rn0000000001",
        job_id="jb0000000001",
        job="nightly",
        owner_id="ap0000000001",
        owner_name="web",
        attempt=1,
        outcome="timed_out",
        exit_code=137,
        duration_s=600.2,
        reason="it ran longer than 600 s",
        final=False,
    ),
]

STACK_EVENTS: list[Event] = [
    StackCreated(
        stack_id="st0000000001",
        name="blog",
        team="a",
        project="p",
        environment="production",
        compose="services: {web: {image: nginx}}",
        routes=[StackRoute(service="web", port=80, domains=["blog.example.com"])],
        variables={"DB_PASSWORD": "rvs2:k:v"},
        template="ghost",
    ),
    StackSettingsChanged(
        stack_id="st0000000001", git_url="https://git.example/a.git", compose=None
    ),
    StackVariablesChanged(stack_id="st0000000001", variables={"A": "rvs2:k:v"}),
    StackWebhookSecretSet(stack_id="st0000000001", secret="rvs2:k:v", rotated=True),
    StackWebhookDisabled(stack_id="st0000000001"),
    StackGitCredentialsChanged(stack_id="st0000000001", token="rvs2:k:t", deploy_key=None),
    StackDeleted(stack_id="st0000000001"),
    StackReleaseRequested(
        release_id="sr0000000001",
        stack_id="st0000000001",
        rollback_of="sr0000000000",
        images={"web": "sha256:ab"},
    ),
    StackSourceFetched(release_id="sr0000000001", commit_sha="abc123", compose_digest="ff"),
    StackComposeRead(release_id="sr0000000001", waves=[["db"], ["web"]], warnings=["w"]),
    StackServiceImageReady(release_id="sr0000000001", service="web", image="sha256:ab", built=True),
    StackServiceStarted(
        release_id="sr0000000001",
        service="web",
        container="c",
        mode="beside",
        host_ports={80: 32768},
    ),
    StackServiceOnServers(
        release_id="sr0000000001",
        service="api",
        service_name="rivetr-blog-api-sr0000000001",
        image="10.0.0.1:5000/rivetr/blog-api@sha256:ab",
        mode="beside",
        replicas=3,
        placement="spread over node.labels.zone",
    ),
    StackServiceBalanced(
        release_id="sr0000000001",
        service="api",
        members={8080: [Member(task_id="t1", node="vps-2", address="10.0.0.2", port=30001)]},
    ),
    StackServiceReady(release_id="sr0000000001", service="web"),
    StackSwitched(release_id="sr0000000001"),
    StackReleaseFailed(
        release_id="sr0000000001", step="health", reason="unhealthy", service="web", log_tail=["x"]
    ),
    StackReleaseSuperseded(release_id="sr0000000001", by="sr0000000002"),
    StackReleaseRetired(release_id="sr0000000001"),
]

ONE_OF_EACH: list[Event] = [
    AppCreated(
        app_id="k3j9x2m4q8w7",
        name="web",
        git_url="https://example.com/web.git",
        branch="release",
        build=BuildSettings(type="dockerfile", build_args={"V": "1"}),
        port=3000,
        domains=["web.example.com", "*.web.example.org"],
        health=HealthCheck(path="/healthz", port=3001),
        env={"A": "1"},
    ),
    AppSettingsChanged(name="web", git_url=None, port=9000, domains=[]),
    AppEnvChanged(name="web", set={"A": "2"}, unset=["B"]),
    AppGitCredentialsChanged(name="web", token="ghp_x", deploy_key=None),
    AppDeleted(name="web"),
    AppScaled(
        name="web",
        replicas=3,
        placement=Placement(constraints={"zone": "eu"}, spread="rack"),
        balance="least_connections",
    ),
    AppMoved(
        name="web",
        from_project="default",
        from_environment="production",
        project="shop",
        environment="staging",
    ),
    ProjectCreated(team="a", project="shop", name="Shop", environments=["production", "staging"]),
    ProjectDeleted(team="a", project="shop"),
    EnvironmentCreated(team="a", project="shop", environment="staging"),
    EnvironmentDeleted(team="a", project="shop", environment="staging"),
    EnvironmentCloned(
        team="a",
        project="shop",
        environment="staging",
        from_project="shop",
        from_environment="production",
        resources=[ClonedResource(from_id="a1", from_name="web", id="a2", name="web-staging")],
    ),
    TokenCreated(token_id="t1", name="ci", secret_hash="ab" * 32, scope="deploy"),
    TokenRevoked(token_id="t1"),
    TokenOwnerAssigned(token_id="t1", owner="a@x.io"),
    UserCreated(user_id="a@x.io", email="A@x.io", password_hash="$argon2id$x", role="owner"),
    LoginFailed(email="a@x.io", reason="wrong password", at="2026-11-27T12:00:00+00:00"),
    UserLockedOut(user_id="a@x.io", until="2026-11-27T12:15:00+00:00", failures=5),
    SessionStarted(
        user_id="a@x.io",
        session_id="s1",
        secret_hash="cd" * 32,
        at="2026-11-27T12:00:00+00:00",
        expires_at="2026-12-04T12:00:00+00:00",
        remote="127.0.0.1",
    ),
    SessionEnded(user_id="a@x.io", session_id="s1", reason="logout"),
    TotpEnrolled(user_id="a@x.io", secret="rvs1:k:abc"),
    TotpEnabled(user_id="a@x.io", recovery_hashes=["ab" * 32]),
    TotpResealed(user_id="a@x.io", secret="rvs1:k2:abc"),
    WebhookSecretSet(name="web", secret="rvs1:k:w", rotated=True),
    WebhookDisabled(name="web"),
    NameClaimed(name="web", resource_id="k3j9x2m4q8w7", team="acme"),
    NameReleased(name="web", resource_id="k3j9x2m4q8w7"),
    DomainsClaimed(resource_id="k3j9x2m4q8w7", team="acme", domains=["web.example.com"]),
    DomainsReleased(resource_id="k3j9x2m4q8w7", domains=["web.example.com"]),
    LegacyClaimsAdopted(apps=3),
    PreviewAwaitingApproval(
        name="web-pr-7", preview_of="web", parent_id="w1", pr_number=7, commit="ab" * 20
    ),
    PreviewApproved(name="web-pr-7", preview_of="web", pr_number=7, commit="ab" * 20),
    CertificateInstalled(
        domain="web.example.com",
        app="web",
        source="uploaded",
        not_before="2026-11-01T00:00:00+00:00",
        not_after="2027-02-01T00:00:00+00:00",
        issuer="CN=CA",
        serial="1f",
        fingerprint="ab" * 32,
    ),
    CertificateFailed(domain="web.example.com", app="web", source="acme", detail="urn:x: no"),
    CertificateRenewalAdvised(
        domain="web.example.com",
        app="web",
        fingerprint="ab" * 32,
        window_start="2027-01-01T00:00:00+00:00",
        window_end="2027-01-03T00:00:00+00:00",
        renew_at="2027-01-02T00:00:00+00:00",
    ),
    WebhookReceived(
        app="web",
        provider="github",
        event="push",
        delivery_id="72d3162e",
        signature="valid",
        decision="deploy",
        reason="push to main",
        ref="refs/heads/main",
        commit="a" * 40,
        deployment_id="d1",
        remote="192.0.2.1",
    ),
    WebhookReceived(
        app="blog",
        provider="gitea",
        event="push",
        delivery_id="9f1c",
        signature="valid",
        decision="deploy",
        reason="push to main",
        commit="b" * 40,
        deployment_id="sr0000000002",
        stack_id="st0000000001",
    ),
    TotpDisabled(user_id="a@x.io"),
    RecoveryCodeUsed(user_id="a@x.io", code_hash="ab" * 32),
    TeamCreated(team="acme", name="Acme", owner="a@x.io"),
    MemberAdded(team="acme", user_id="b@x.io", role="developer", invitation_id="i1"),
    MemberRoleChanged(team="acme", user_id="b@x.io", role="viewer"),
    MemberRemoved(team="acme", user_id="b@x.io"),
    OwnershipTransferred(team="acme", from_user="a@x.io", to_user="b@x.io"),
    TeamDeleted(team="acme"),
    InvitationCreated(
        team="acme",
        invitation_id="i1",
        email="b@x.io",
        role="developer",
        secret_hash="cd" * 32,
        expires_at="2030-01-01T00:00:00+00:00",
    ),
    InvitationAccepted(team="acme", invitation_id="i1", user_id="b@x.io"),
    InvitationRevoked(team="acme", invitation_id="i2"),
    ProjectRoleSet(team="acme", user_id="bob@example.com", project="shop", role="developer"),
    InstanceSettingsChanged(changes={"public_url": "https://deploy.example.com"}),
    InstanceSettingsChanged(changes={"public_url": None}),
    EngineConnected(kind="docker", version="27.0", url="unix:///var/run/docker.sock"),
    EngineLost(reason="socket closed"),
    OrphanContainerRemoved(container_name="rivetr-web-d9", deployment_id="d9"),
    ImagePruned(app="web", image="rivetr/web:d0", deployment_id="d0"),
    DeploymentRequested(deployment_id="d1", app="web", branch="main", commit="abc1234"),
    SourceFetched(deployment_id="d1", commit_sha="a" * 40, commit_message="fix", duration_ms=12.5),
    BuildStarted(deployment_id="d1", builder="dockerfile"),
    ImageBuilt(deployment_id="d1", image="rivetr/web:d1", duration_ms=800.0),
    ContainerStarted(
        deployment_id="d1",
        container_id="c" * 64,
        container_name="rivetr-web-d1",
        image="rivetr/web:d1",
        host_port=32768,
        duration_ms=90.0,
    ),
    HealthProbed(deployment_id="d1", attempt=1, ok=False, error="refused", duration_ms=1.0),
    DeploymentHealthy(deployment_id="d1", probes=2, duration_ms=1100.0),
    TrafficSwitched(deployment_id="d1", app="web", host_port=32768, previous_deployment_id="d0"),
    ImagePushed(
        deployment_id="d1", image="127.0.0.1:5000/rivetr/web@sha256:" + "a" * 64, duration_ms=9
    ),
    ServiceStarted(
        deployment_id="d1",
        service_id="svc1",
        service_name="rivetr-web-d1",
        image="127.0.0.1:5000/rivetr/web@sha256:" + "a" * 64,
        replicas=3,
        duration_ms=80,
    ),
    TaskRunning(deployment_id="d1", slot=1, member=REPLICA),
    CopiesChanged(
        deployment_id="d1",
        app="web",
        members=[REPLICA],
        joined=[REPLICA],
        left=[LeftCopy(member=REPLICA, reason="shutdown on vps-2: node is down")],
    ),
    TrafficBalanced(
        deployment_id="d1",
        app="web",
        members=[REPLICA],
        balance="least_connections",
        previous_deployment_id="d0",
    ),
    DeploymentSuperseded(deployment_id="d0", by_deployment_id="d1", drain_s=30.0),
    DeploymentRetired(deployment_id="d0", container_removed=True),
    ReleaseRestarted(
        deployment_id="d1",
        app="web",
        reason="its container was gone",
        container_id="e" * 64,
        container_name="rivetr-web-d1",
        host_port=32800,
        healthy=True,
    ),
    ReleaseRestartFailed(deployment_id="d1", app="web", reason="image not found"),
    DeploymentFailed(deployment_id="d2", step="build", reason="exit 1", log_tail=["boom"]),
    RollbackStarted(deployment_id="d1", to_deployment_id="d0", reason="post-switch check"),
    RolledBack(deployment_id="d1", app="web", to_deployment_id="d0", host_port=32767),
    DeploymentCancelled(deployment_id="d3", reason="superseded", superseded_by="d4"),
    TeamVariablesChanged(team="a", set={"HOST": "rvs2:k:v"}, unset=["OLD"]),
    StackAllowancesSet(
        team="a",
        allowances=Allowances(
            privileged=True,
            cap_add=frozenset({"NET_ADMIN"}),
            host_namespaces=frozenset({"network"}),
            bind_prefixes=("/srv/media",),
        ),
    ),
    ProjectVariablesChanged(team="a", project="shop", environment="staging", set={"A": "s"}),
    VariablesResolved(
        deployment_id="d1", used=[VariableUse(name="URL", source="team", key="HOST")]
    ),
    AppVariableScopesChanged(
        name="web",
        scopes={"NPM_TOKEN": VariableScope(build=True, runtime=False, preview=False)},
        preview_values={"DB": "rvs2:k:v"},
        preview_unset=["OLD"],
    ),
    *DATABASE_EVENTS,
    *STACK_EVENTS,
    ChannelSet(
        team="a",
        name="alerts",
        channel_id="c1",
        kind="webhook",
        url="rvs2:k:u",
        signing_secret="rvs2:k:s",
        on=["deployment.failed", "backup.failed"],
        projects=["shop"],
        environments=["production"],
    ),
    ChannelRemoved(team="a", name="alerts", channel_id="c1"),
    NoticeDelivered(
        channel_id="c1",
        team="a",
        channel="alerts",
        key="42:c1",
        notice="deployment.failed",
        title="web: deployment failed",
        attempt=1,
        source_position=42,
    ),
    NoticeFailed(
        channel_id="c1",
        team="a",
        channel="alerts",
        key="test:2026-01-01T00:00:00+00:00:c1",
        notice="test",
        title="Rivetr: a test of alerts",
        attempt=1,
        reason="the webhook answered 500 Internal Server Error",
        final=True,
    ),
    *JOB_EVENTS,
    HostThresholdCrossed(
        metric="disk", value=93.5, threshold=90.0, window_s=300.0, recovers_below=85.0
    ),
    HostThresholdRecovered(metric="disk", value=80.0, threshold=90.0, window_s=300.0),
    HostStorageFailed(
        kind="full",
        folder="/var/lib/rivetr",
        reason="database or disk is full",
        since=datetime(2026, 12, 3, 19, 0, tzinfo=UTC),
    ),
    HostStorageRecovered(
        kind="full",
        folder="/var/lib/rivetr",
        refused=42,
        since=datetime(2026, 12, 3, 19, 0, tzinfo=UTC),
    ),
    ControlPlaneBackupRequested(backup_id="c1", target="offsite", with_key=True),
    ControlPlaneBackupStored(
        backup_id="c1",
        prefix="control-plane/20261201T030000Z-c1",
        head_position=1234,
        head_hash="ab" * 32,
        rivetr_version="0.1.0",
        files=[ControlPlaneFile(name="events.db.enc", size=4096, sha256="cd" * 32, encrypted=True)],
        seconds=1.5,
    ),
    ControlPlaneBackupReadBack(backup_id="c1", size=4096),
    ControlPlaneBackupVerified(backup_id="c1", events=1234, seconds=2.0),
    ControlPlaneBackupFailed(backup_id="c2", step="read_back", reason="the object is damaged"),
    ControlPlaneBackupDeleted(backup_id="c1", reason="retention: beyond the 14 newest verified"),
    ControlPlaneSchedulesSet(
        schedules=[ControlPlaneSchedule(cron="0 3 * * *", target="offsite", with_key=True)]
    ),
    ControlPlaneRestored(
        backup_id="c1",
        source="local directory /srv/backups",
        head_position=1234,
        head_hash="ab" * 32,
        rivetr_version="0.1.0",
    ),
    SwarmInitRequested(advertise_addr="192.168.213.1"),
    SwarmInitialised(
        swarm_id="s" * 25, node_id="n" * 25, hostname="vps-1", advertise_addr="192.168.213.1"
    ),
    SwarmNodeInvited(name="vps-2", role="worker", expires_at="2026-12-03T12:10:00+00:00"),
    SwarmNodeJoined(
        node_id="w" * 25,
        hostname="vps-2",
        role="worker",
        address="192.168.213.2",
        cpus=2.0,
        memory_bytes=2 << 30,
        engine_version="20.10.24",
        labels={"zone": "eu"},
        invited=True,
    ),
    SwarmNodeDescribed(
        node_id="m" * 25,
        hostname="vps-1",
        role="manager",
        address="192.168.213.1",
        cpus=2.0,
        memory_bytes=4 << 30,
        engine_version="20.10.24",
    ),
    SwarmNodeJoinTimedOut(name="vps-3", reason="no node called vps-3 joined"),
    SwarmNodeJoinFailed(name="vps-4", engine="tcp://10.0.0.4:2376", reason="TLS: bad certificate"),
    SwarmRegistrySet(address="10.0.0.1:5000", username="deploy", password="sealed:abc"),
    SwarmRegistryHosted(
        address="10.0.0.1:5000",
        image="registry:2",
        ca="-----BEGIN CERTIFICATE-----",
        cert="-----BEGIN CERTIFICATE-----",
        key="sealed:k",
        client_cert="-----BEGIN CERTIFICATE-----",
        client_key="sealed:c",
    ),
    SwarmRegistryStopped(address="10.0.0.1:5000"),
    SwarmBuildNodeSet(
        engine="ssh://root@10.0.0.4",
        node_id="n4",
        hostname="vps-4",
        ssh_key="sealed:k",
        host_key="ssh-ed25519 AAAA",
    ),
    SwarmBuildNodeCleared(),
    SwarmRegistryCleared(),
    SwarmNodeChangeRequested(change_id="k1", node_id="w" * 25, labels={"zone": "us"}),
    SwarmNodeChanged(node_id="w" * 25, labels={"zone": "us"}, availability="drain", change_id="k1"),
    SwarmNodeRemoved(node_id="w" * 25, change_id="k2"),
    SwarmNodeStateChanged(node_id="w" * 25, state="down", message="heartbeat failure"),
    SwarmOperationFailed(operation="init", reason="could not find the address"),
    SwarmOrphanRemoved(service_name="rivetr-web-d9", deployment_id="d9"),
]


def test_the_examples_cover_every_event_type() -> None:
    assert {type(e) for e in ONE_OF_EACH} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_every_event_type_round_trips(event: Event) -> None:
    tag, version, data = codec.encode(event)

    assert EVENT_TYPES[tag] is type(event)
    assert version == SCHEMA_VERSIONS.get(tag, 1)
    assert msgspec.json.decode(data)["type"] == tag
    assert codec.decode(tag, version, data) == event


def test_settings_left_unchanged_are_not_written() -> None:
    _, _, data = codec.encode(AppSettingsChanged(name="web", port=9000))

    assert msgspec.json.decode(data) == {
        "type": "app.settings_changed",
        "name": "web",
        "port": 9000,
    }


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(UnknownEventType, match=r"deployment\.teleported"):
        codec.decode("deployment.teleported", 1, b'{"type":"deployment.teleported"}')


def test_a_version_newer_than_this_code_knows_is_refused() -> None:
    _, _, data = codec.encode(AppCreated(app_id="a1", name="web"))

    with pytest.raises(UnknownEventType, match="newer"):
        codec.decode("app.created", SCHEMA_VERSIONS["app.created"] + 1, data)


def test_a_body_that_does_not_fit_its_shape_is_a_validation_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        codec.decode("app.deleted", 1, b'{"type":"app.deleted","name":7}')


@pytest.mark.parametrize(
    ("v1_domain", "domains"),
    [("legacy.example.com", ["legacy.example.com"]), (None, []), ("", [])],
)
def test_app_created_v1_single_domain_is_upcast_to_a_list(
    v1_domain: str | None, domains: list[str]
) -> None:
    body = {"type": "app.created", "name": "legacy", "git_url": "https://example.com/r.git"}
    if v1_domain is not None:
        body["domain"] = v1_domain

    event = codec.decode("app.created", 1, msgspec.json.encode(body), position=7)

    assert event == AppCreated(
        app_id="legacy.7", name="legacy", git_url="https://example.com/r.git", domains=domains
    )


def test_an_app_created_before_ids_is_known_by_its_name_and_where_it_was_created() -> None:
    body = {"type": "app.created", "name": "shop", "team": "acme", "domains": ["shop.test"]}

    first = codec.decode("app.created", 2, msgspec.json.encode(body), position=82)
    again = codec.decode("app.created", 2, msgspec.json.encode(body), position=94)

    assert (first.app_id, again.app_id) == ("shop.82", "shop.94")  # type: ignore[union-attr]
    assert codec.decode("app.created", 3, codec.encode(first)[2]) == first


def test_every_version_below_the_current_one_has_an_upcaster() -> None:
    for tag, current in SCHEMA_VERSIONS.items():
        for version in range(1, current):
            assert (tag, version) in UPCASTERS, f"{tag} v{version} cannot be read"


def test_a_body_whose_tag_disagrees_with_its_type_column_is_refused() -> None:
    _, _, data = codec.encode(AppDeleted(name="web"))

    with pytest.raises(msgspec.ValidationError):
        codec.decode("app.created", SCHEMA_VERSIONS["app.created"], data)
