"""Backups of the control plane: what an instance administrator may ask (a backup now, the
schedules), each backup's state folded from the "control-plane" stream, and the decisions.

A backup's life is `requested → stored → read back → verified`, or `failed` at a step. Its
target is one of the default team's (the instance's). The key file goes along only encrypted
with a passphrase: the target's, or (from the CLI) one given for the purpose; so a request or
a schedule that wants it where no passphrase is to be had is refused before anything runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

from rivetr.domain import backup_schedule
from rivetr.domain.commands import Command
from rivetr.domain.control_plane_events import (
    STREAM,
    ControlPlaneBackupDeleted,
    ControlPlaneBackupFailed,
    ControlPlaneBackupReadBack,
    ControlPlaneBackupRequested,
    ControlPlaneBackupStored,
    ControlPlaneBackupVerified,
    ControlPlaneReason,
    ControlPlaneSchedule,
    ControlPlaneSchedulesSet,
    TakenBy,
)
from rivetr.domain.database_commands import CronText, TargetName, TimeZone
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event

MAX_SCHEDULES = 10
ControlPlaneStatus = Literal["requested", "stored", "read_back", "verified", "failed"]


class BackUpControlPlane(Command, frozen=True, kw_only=True):
    target: TargetName = "local"
    with_key: bool = False


class ControlPlaneScheduleInput(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    cron: CronText
    timezone: TimeZone = "UTC"
    target: TargetName = "local"
    with_key: bool = False


class SetControlPlaneSchedules(Command, frozen=True, kw_only=True):
    schedules: list[ControlPlaneScheduleInput] = msgspec.field(default_factory=list)


class ControlPlaneBackup(msgspec.Struct, frozen=True, kw_only=True):
    backup_id: str
    request: ControlPlaneBackupRequested
    status: ControlPlaneStatus = "requested"
    stored: ControlPlaneBackupStored | None = None
    events_verified: int | None = None
    failed_step: str | None = None
    failure: str | None = None
    deleted: bool = False  # its objects are gone from the target (retention)


class ControlPlaneState(msgspec.Struct, frozen=True, kw_only=True):
    backups: Mapping[str, ControlPlaneBackup] = msgspec.field(default_factory=dict)
    schedules: tuple[ControlPlaneSchedule, ...] = ()


def stream_id(_: str = "") -> str:
    return STREAM


def _backup_id(event: Event) -> str | None:
    return getattr(event, "backup_id", None)


def evolve(state: ControlPlaneState, event: Event) -> ControlPlaneState:
    replace = msgspec.structs.replace
    if isinstance(event, ControlPlaneSchedulesSet):
        return replace(state, schedules=tuple(event.schedules))
    if isinstance(event, ControlPlaneBackupRequested):
        backup = ControlPlaneBackup(backup_id=event.backup_id, request=event)
        return replace(state, backups={**state.backups, event.backup_id: backup})
    backup_id = _backup_id(event)
    current = state.backups.get(backup_id or "")
    if current is None:
        return state
    match event:
        case ControlPlaneBackupStored():
            current = replace(current, status="stored", stored=event)
        case ControlPlaneBackupReadBack():
            current = replace(current, status="read_back")
        case ControlPlaneBackupVerified():
            current = replace(current, status="verified", events_verified=event.events)
        case ControlPlaneBackupFailed():
            current = replace(
                current, status="failed", failed_step=event.step, failure=event.reason
            )
        case ControlPlaneBackupDeleted():
            current = replace(current, deleted=True)
        case _:
            return state
    return replace(state, backups={**state.backups, current.backup_id: current})


def fold(_: str, events: Iterable[Event]) -> ControlPlaneState:
    state = ControlPlaneState()
    for event in events:
        state = evolve(state, event)
    return state


def backup(state: ControlPlaneState, backup_id: str) -> ControlPlaneBackup:
    """Raises NotFound."""
    found = state.backups.get(backup_id)
    if found is None:
        raise NotFound(f"no control-plane backup {backup_id!r}")
    return found


def _check_key(with_key: bool, target: str, encrypted: bool, field: str) -> None:
    if with_key and not encrypted:
        raise InvalidCommand(
            f"the key file goes only encrypted: backup target {target!r} has no encryption"
            " passphrase (set one with `rivetr backup-targets set --encrypt`, or give one to"
            " `rivetr backup --with-key`)",
            field=field,
        )


def decide_backup(
    command: BackUpControlPlane,
    backup_id: str,
    *,
    passphrase: bool,
    reason: ControlPlaneReason = "on_demand",
    taken_by: TakenBy = "service",
) -> list[Event]:
    """The request for a backup; `passphrase`: whether one is to be had for the key file (the
    target's, or one given with the request). The target's existence is the caller's check
    (it is read from the default team's stream)."""
    _check_key(command.with_key, command.target, passphrase, "with_key")
    return [
        ControlPlaneBackupRequested(
            backup_id=backup_id,
            target=command.target,
            with_key=command.with_key,
            reason=reason,
            taken_by=taken_by,
        )
    ]


def decide_schedules(
    state: ControlPlaneState, command: SetControlPlaneSchedules, encrypted: Mapping[str, bool]
) -> list[Event]:
    """`encrypted`: the instance's targets, each with whether it has a passphrase.

    Raises:
        InvalidCommand: too many schedules, a cron or zone that is not valid, a target the
            instance does not have, or the key asked for on a target without a passphrase.
    """
    if len(command.schedules) > MAX_SCHEDULES:
        raise InvalidCommand(
            f"at most {MAX_SCHEDULES} schedules back up the control plane", field="schedules"
        )
    schedules = []
    for n, given in enumerate(command.schedules):
        where = f"schedules[{n}]"
        try:
            cron = backup_schedule.validate(given.cron, given.timezone)
        except InvalidCommand as exc:
            raise InvalidCommand(str(exc), field=f"{where}.{exc.field or 'cron'}") from None
        if given.target not in encrypted:
            known = ", ".join(sorted(encrypted))
            raise InvalidCommand(
                f"the instance has no backup target {given.target!r} (it has: {known})",
                field=f"{where}.target",
            )
        _check_key(given.with_key, given.target, encrypted[given.target], f"{where}.with_key")
        schedules.append(
            ControlPlaneSchedule(
                cron=cron, timezone=given.timezone, target=given.target, with_key=given.with_key
            )
        )
    if tuple(schedules) == state.schedules:
        return []
    return [ControlPlaneSchedulesSet(schedules=schedules)]
