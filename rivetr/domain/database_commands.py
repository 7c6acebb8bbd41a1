"""What users ask of managed databases, their backups and the team's backup targets.

Secrets are never taken as input: the service generates passwords, and seals a target's S3
secret key and encryption passphrase before a command reaches the domain."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec

from rivetr.domain.commands import Command, Slug, TeamSlug
from rivetr.domain.database_events import (
    BackupSchedule,
    DatabaseAction,
    DatabaseKind,
    KeepDays,
    KeepLast,
)
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.settings import DnsLabel, Port, ResourcesInput, whole

ResourceId = Annotated[str, msgspec.Meta(pattern=whole(r"[a-z2-7]{12}"))]
# an image reference: registry/name:tag or @digest; no spaces, no leading dash (not an option)
ImageRef = Annotated[
    str, msgspec.Meta(pattern=whole(r"[a-z0-9][A-Za-z0-9._/:@-]{0,254}"), max_length=255)
]
Version = Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"))]
# a database, user or role name inside the server: plain, so it needs no quoting anywhere
DbIdentifier = Annotated[str, msgspec.Meta(pattern=whole(r"[a-z_][a-z0-9_]{0,62}"))]
TargetName = DnsLabel
CronText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# the lowest port a database may be published on: the ones below are the system's (and 80/443
# are the proxy's)
LOWEST_PUBLIC_PORT = 1024


class DatabaseCommand(Command, frozen=True, kw_only=True):
    pass


class CreateDatabase(DatabaseCommand, frozen=True, kw_only=True):
    name: DnsLabel
    kind: DatabaseKind
    team: TeamSlug | None = None  # None: the caller's only team
    project: Slug = "default"
    environment: Slug = "production"
    version: Version | None = None  # None: the kind's default
    image: ImageRef | None = None  # None: the official image of that version
    public_port: Port | None = None
    bind_address: str = "127.0.0.1"
    resources: ResourcesInput = msgspec.field(default_factory=ResourcesInput)
    user: DbIdentifier | None = None  # None: the kind's usual (postgres: "app")
    database: DbIdentifier | None = None
    verify_backups: bool = True

    def __post_init__(self) -> None:
        check_public_port(self.public_port, self.bind_address)


class ChangeDatabaseSettings(DatabaseCommand, frozen=True, kw_only=True):
    database_id: ResourceId
    public_port: Port | msgspec.UnsetType | None = msgspec.UNSET
    bind_address: str | msgspec.UnsetType = msgspec.UNSET
    resources: ResourcesInput | msgspec.UnsetType = msgspec.UNSET
    verify_backups: bool | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        port = None if self.public_port is msgspec.UNSET else self.public_port
        address = "127.0.0.1" if self.bind_address is msgspec.UNSET else self.bind_address
        check_public_port(port, address)


class RequestDatabaseAction(DatabaseCommand, frozen=True, kw_only=True):
    database_id: ResourceId
    action: DatabaseAction


class RotateDatabasePassword(DatabaseCommand, frozen=True, kw_only=True):
    database_id: ResourceId
    password: str = ""  # filled (and sealed) by the service; never taken from a caller


class ResealDatabasePasswords(DatabaseCommand, frozen=True, kw_only=True):
    """The database's passwords sealed again with the newest key, by the service for
    `rivetr secrets rotate` (never taken from a caller)."""

    database_id: ResourceId
    password: str
    root_password: str | None = None
    pending_password: str | None = None
    # the sealed values these replace: refused if a rotation changed them meanwhile
    resealing: tuple[str, str | None, str | None]


class SetBackupSchedules(DatabaseCommand, frozen=True, kw_only=True):
    database_id: ResourceId
    schedules: list[BackupSchedule] = msgspec.field(default_factory=list)


class UpgradeDatabase(DatabaseCommand, frozen=True, kw_only=True):
    database_id: ResourceId
    version: Version
    image: ImageRef | None = None  # None: the official image of that version
    target: TargetName = "local"  # where the backup taken first goes


class DeleteDatabase(DatabaseCommand, frozen=True, kw_only=True):
    database_id: ResourceId
    keep_volume: bool = True  # the data stays on the host unless asked


class BackUpDatabase(DatabaseCommand, frozen=True, kw_only=True):
    database_id: ResourceId
    target: TargetName = "local"
    verify: bool | None = None  # None: the database's setting


class RestoreBackup(DatabaseCommand, frozen=True, kw_only=True):
    """Restore a backup into its own database (a safety backup is taken first) or into
    another one of the same kind (`into`), such as a new, empty one."""

    backup_id: ResourceId
    into: ResourceId | None = None


class DeleteBackup(DatabaseCommand, frozen=True, kw_only=True):
    backup_id: ResourceId


class S3Input(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    endpoint: Annotated[str, msgspec.Meta(pattern=whole(r"https?://[^\s/]+/?"))]
    region: Annotated[str, msgspec.Meta(pattern=whole(r"[a-z0-9-]{1,40}"))] = "us-east-1"
    bucket: Annotated[str, msgspec.Meta(pattern=whole(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"))]
    prefix: Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z0-9._/-]{0,200}"))] = ""
    path_style: bool = False
    access_key: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    secret_key: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]  # sealed by the service


class SetBackupTarget(DatabaseCommand, frozen=True, kw_only=True):
    team: TeamSlug | None = None
    name: TargetName
    s3: S3Input | None = None  # None: a local directory under the instance's backup directory
    keep_last: KeepLast | None = None
    keep_days: KeepDays | None = None
    # a passphrase backups are encrypted with (sealed by the service); None: not encrypted
    encryption_passphrase: Annotated[str, msgspec.Meta(min_length=12, max_length=1024)] | None = (
        None
    )


class RemoveBackupTarget(DatabaseCommand, frozen=True, kw_only=True):
    team: TeamSlug | None = None
    name: TargetName


def check_public_port(port: int | None, address: str) -> None:
    """Raises InvalidCommand for a system port or an address that is not an IP address."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise InvalidCommand(
            f"bind_address {address!r} is not an IP address", field="bind_address"
        ) from None
    if port is not None and port < LOWEST_PUBLIC_PORT:
        raise InvalidCommand(
            f"public_port {port} is a system port: choose one from {LOWEST_PUBLIC_PORT} up",
            field="public_port",
        )
