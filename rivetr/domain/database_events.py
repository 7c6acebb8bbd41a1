"""The facts of managed databases, their backups and restores, as members of the one tagged
union in `events.py`.

A database's stream is `database-<id>`; each backup's `backup-<id>` and each restore's
`restore-<id>`, so a backup's steps never contend with the database's own decisions. Backup
targets belong to a team and live in its stream. Secret values (passwords, an S3 secret key,
an encryption passphrase) are sealed before they are recorded, bound to their resource and
field."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.settings import Count, Port, Resources

DatabaseKind = Literal["postgres", "mysql", "mariadb", "redis", "mongodb"]
DatabaseAction = Literal["start", "stop", "restart"]
# what a database was doing when it failed
DatabaseStep = Literal["start", "stop", "restart", "rotate_password", "upgrade", "delete"]
BackupReason = Literal["schedule", "on_demand", "before_upgrade", "before_restore", "before_delete"]
BackupStep = Literal["dump", "store", "read_back", "restore", "check"]
TargetKind = Literal["local", "s3"]
KeepDays = Annotated[int, msgspec.Meta(ge=1, le=36_500)]
KeepLast = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class DatabaseCreated(Event, frozen=True, kw_only=True, tag="database.created"):
    database_id: str
    name: str  # the host name the environment's apps reach it by
    team: str
    project: str
    environment: str
    kind: DatabaseKind
    version: str
    image: str
    port: Port  # inside the container
    public_port: Port | None = None  # bound on the host at `bind_address`; None: not public
    bind_address: str = "127.0.0.1"
    resources: Resources = msgspec.field(default_factory=Resources)
    user: str
    database: str
    password: str  # sealed
    root_password: str | None = None  # sealed; for kinds with a separate superuser
    verify_backups: bool = True


class DatabaseSettingsChanged(Event, frozen=True, kw_only=True, tag="database.settings_changed"):
    """Only the settings present changed."""

    database_id: str
    public_port: Port | msgspec.UnsetType | None = msgspec.UNSET
    bind_address: str | msgspec.UnsetType = msgspec.UNSET
    resources: Resources | msgspec.UnsetType = msgspec.UNSET
    verify_backups: bool | msgspec.UnsetType = msgspec.UNSET


class DatabaseActionRequested(Event, frozen=True, kw_only=True, tag="database.action_requested"):
    """Someone asked for the database to be started, stopped or restarted; the runtime's
    reactor does it and records what came of it."""

    database_id: str
    action: DatabaseAction


class DatabaseRunning(Event, frozen=True, kw_only=True, tag="database.running"):
    """Its container is up and its engine health check passed."""

    database_id: str
    container: str
    image: str
    host_port: Port | None = None


class DatabaseStopped(Event, frozen=True, kw_only=True, tag="database.stopped"):
    database_id: str
    reason: str = ""  # empty: as asked


class DatabaseFailed(Event, frozen=True, kw_only=True, tag="database.failed"):
    database_id: str
    during: DatabaseStep
    reason: str


class DatabasePasswordRotationRequested(
    Event, frozen=True, kw_only=True, tag="database.password_rotation_requested"
):
    """A new password (sealed), set on the server by the runtime's reactor; until it is
    (`database.password_rotated`), apps keep getting the old one."""

    database_id: str
    password: str


class DatabasePasswordRotated(Event, frozen=True, kw_only=True, tag="database.password_rotated"):
    database_id: str


class DatabasePasswordsResealed(
    Event, frozen=True, kw_only=True, tag="database.passwords_resealed"
):
    """The same passwords, sealed with a newer key (`rivetr secrets rotate`): nothing changes
    on the server or for its apps."""

    database_id: str
    password: str
    root_password: str | None = None
    pending_password: str | None = None


class BackupSchedule(msgspec.Struct, frozen=True, kw_only=True):
    cron: str
    timezone: str = "UTC"
    target: str = "local"


class DatabaseSchedulesSet(Event, frozen=True, kw_only=True, tag="database.schedules_set"):
    database_id: str
    schedules: list[BackupSchedule] = msgspec.field(default_factory=list)


class DatabaseUpgradeRequested(Event, frozen=True, kw_only=True, tag="database.upgrade_requested"):
    """A move to another version: a verified backup first, then a copy of the volume, then
    the new image on the volume; the old image and the copy come back if it fails."""

    database_id: str
    upgrade_id: str
    version: str
    image: str
    from_version: str
    from_image: str
    target: str = "local"  # where the backup taken first goes
    backup_id: str = ""  # that backup, asked for together with the upgrade


class DatabaseUpgraded(Event, frozen=True, kw_only=True, tag="database.upgraded"):
    database_id: str
    upgrade_id: str
    version: str
    image: str


class DatabaseUpgradeFailed(Event, frozen=True, kw_only=True, tag="database.upgrade_failed"):
    database_id: str
    upgrade_id: str
    reason: str
    rolled_back: bool  # the old image serves the old volume again


class DatabaseDeleted(Event, frozen=True, kw_only=True, tag="database.deleted"):
    database_id: str
    name: str
    volume_kept: bool


# --- backup targets (stream "team-<slug>") ----------------------------------------------------


class S3Settings(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: (
        str  # https://s3.eu-central-1.amazonaws.com, https://<account>.r2.cloudflarestorage.com
    )
    region: str = "us-east-1"
    bucket: str
    prefix: str = ""
    path_style: bool = False
    access_key: str
    secret_key: str  # sealed


class BackupTargetSet(Event, frozen=True, kw_only=True, tag="team.backup_target_set"):
    """A team's backup target, added or replaced whole. A local target lives under the
    instance's backup directory (never a path a team chooses)."""

    team: str
    name: str
    kind: TargetKind
    s3: S3Settings | None = None
    keep_last: KeepLast | None = None
    keep_days: KeepDays | None = None
    encryption_key: str | None = None  # sealed; None: stored as dumped


class BackupTargetRemoved(Event, frozen=True, kw_only=True, tag="team.backup_target_removed"):
    team: str
    name: str


# --- backups (stream "backup-<id>") and restores (stream "restore-<id>") -----------------------


class BackupRequested(Event, frozen=True, kw_only=True, tag="backup.requested"):
    backup_id: str
    database_id: str
    team: str
    project: str
    environment: str
    kind: DatabaseKind
    image: str  # the image it is dumped with, and verified in
    target: str
    reason: BackupReason
    verify: bool = True
    encrypted: bool = False


class BackupStored(Event, frozen=True, kw_only=True, tag="backup.stored"):
    """The dump is stored whole under `key`; `counts` is the source's check at dump time."""

    backup_id: str
    key: str
    size: Count
    sha256: str
    counts: dict[str, Count] = msgspec.field(default_factory=dict)
    seconds: float = 0.0


class BackupReadBack(Event, frozen=True, kw_only=True, tag="backup.read_back"):
    """The stored object was read back whole: its size and sha256 are what was written."""

    backup_id: str
    size: Count
    sha256: str


class BackupVerified(Event, frozen=True, kw_only=True, tag="backup.verified"):
    """Restored into a throwaway container of the same image, which came up healthy and
    answered the same check as the source at dump time."""

    backup_id: str
    counts: dict[str, Count] = msgspec.field(default_factory=dict)
    seconds: float = 0.0


class BackupFailed(Event, frozen=True, kw_only=True, tag="backup.failed"):
    backup_id: str
    step: BackupStep
    reason: str


class BackupDeleted(Event, frozen=True, kw_only=True, tag="backup.deleted"):
    backup_id: str
    reason: str  # "retention: …" or who asked


class RestoreRequested(Event, frozen=True, kw_only=True, tag="restore.requested"):
    restore_id: str
    backup_id: str
    database_id: str  # the database restored into
    safety_backup_id: str | None = None  # taken first when restoring over live data


class RestoreCompleted(Event, frozen=True, kw_only=True, tag="restore.completed"):
    restore_id: str
    counts: dict[str, Count] = msgspec.field(default_factory=dict)


class RestoreFailed(Event, frozen=True, kw_only=True, tag="restore.failed"):
    restore_id: str
    reason: str
