"""The facts of backing up Rivetr's own control plane (stream "control-plane"), as members of
the one tagged union in `events.py`: a backup asked for, stored, read back and verified (or
failed at a step), the schedules it is taken on, and a restore that began a log from one.

A control-plane backup is the log (`events.db`, copied online), the certificates and, when
asked, the key file (`secrets.key`, always encrypted with a passphrase). It belongs to the
instance, not to a team: its events name no team, so only the instance's administrators read
them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.settings import Count

STREAM = "control-plane"
# every place a control-plane backup can fail, in the order it is taken
ControlPlaneStep = Literal["copy", "store", "read_back", "restore", "verify_chain", "rebuild"]
ControlPlaneReason = Literal["on_demand", "schedule"]
# who does the work: the running service (asked through the API or a schedule), or the CLI
# process that asked (which works beside the service, or with it stopped)
TakenBy = Literal["service", "cli"]
Position = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
Bytes = Annotated[int, msgspec.Meta(ge=0, le=2**62)]


class ControlPlaneSchedule(msgspec.Struct, frozen=True, kw_only=True):
    cron: str
    timezone: str = "UTC"
    target: str = "local"
    # the key goes along only to a target with an encryption passphrase (it is sealed with it)
    with_key: bool = False


class ControlPlaneFile(msgspec.Struct, frozen=True, kw_only=True):
    """One object of a backup as stored: its size and sha256 (of the stored bytes, encrypted
    or not), and whether it is encrypted."""

    name: str
    size: Bytes
    sha256: str
    encrypted: bool = False


class ControlPlaneBackupRequested(
    Event, frozen=True, kw_only=True, tag="control_plane.backup_requested"
):
    backup_id: str
    target: str  # a backup target of the default team: the instance's
    with_key: bool = False
    reason: ControlPlaneReason = "on_demand"
    taken_by: TakenBy = "service"


class ControlPlaneBackupStored(Event, frozen=True, kw_only=True, tag="control_plane.backup_stored"):
    """Every object is stored whole under `prefix`, the manifest last: the log as it stood at
    `head_position` (whose hash is `head_hash`), copied by `rivetr_version`."""

    backup_id: str
    prefix: str
    head_position: Position
    head_hash: str
    rivetr_version: str
    files: list[ControlPlaneFile] = msgspec.field(default_factory=list)
    seconds: float = 0.0


class ControlPlaneBackupReadBack(
    Event, frozen=True, kw_only=True, tag="control_plane.backup_read_back"
):
    """Every object was read back whole, each its recorded size and sha256."""

    backup_id: str
    size: Bytes


class ControlPlaneBackupVerified(
    Event, frozen=True, kw_only=True, tag="control_plane.backup_verified"
):
    """Restored into a scratch data directory: its hash chain verified through `events`
    events and the read model rebuilt from it without an error."""

    backup_id: str
    events: Count
    seconds: float = 0.0


class ControlPlaneBackupFailed(Event, frozen=True, kw_only=True, tag="control_plane.backup_failed"):
    backup_id: str
    step: ControlPlaneStep
    reason: str


class ControlPlaneBackupDeleted(
    Event, frozen=True, kw_only=True, tag="control_plane.backup_deleted"
):
    """Its objects were deleted from its target: retention (the target's keep_last and
    keep_days, as for databases' backups), with the reasons in `reason`."""

    backup_id: str
    reason: str


class ControlPlaneSchedulesSet(Event, frozen=True, kw_only=True, tag="control_plane.schedules_set"):
    schedules: list[ControlPlaneSchedule] = msgspec.field(default_factory=list)


class ControlPlaneRestored(Event, frozen=True, kw_only=True, tag="control_plane.restored"):
    """The first event a restored log records after the backup's own: where it came from."""

    backup_id: str
    source: str  # the target's description (never a secret)
    head_position: Position
    head_hash: str
    rivetr_version: str  # the version that restored it
