"""Backups and restores of managed databases, and the team's backup targets: their states and
the decisions on them.

A backup's life is `requested → stored → read back → verified`, or `failed` at a step; it
counts as a backup a restore may use once it is read back, and as proven only once verified.
Every team has a `local` target (a directory of its own under the instance's backup
directory) without any event; a team may set it again to give it retention or encryption."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import msgspec

from rivetr.domain.database_commands import RemoveBackupTarget, SetBackupTarget
from rivetr.domain.database_events import (
    BackupDeleted,
    BackupFailed,
    BackupReadBack,
    BackupReason,
    BackupRequested,
    BackupStored,
    BackupTargetRemoved,
    BackupTargetSet,
    BackupVerified,
    RestoreCompleted,
    RestoreFailed,
    RestoreRequested,
    S3Settings,
)
from rivetr.domain.databases import DatabaseState
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.events import TeamCreated, TeamDeleted

LOCAL: Final = "local"
BackupStatus = Literal["requested", "stored", "read_back", "verified", "failed", "deleted"]
RestoreStatus = Literal["requested", "completed", "failed"]


class BackupState(msgspec.Struct, frozen=True, kw_only=True):
    backup_id: str
    request: BackupRequested | None = None
    status: BackupStatus = "requested"
    key: str | None = None
    size: int | None = None
    sha256: str | None = None
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    failure: str | None = None
    deleted: bool = False

    @property
    def usable(self) -> bool:
        """Stored whole and read back: a restore may use it (a verified one is proven)."""
        return not self.deleted and self.status in ("read_back", "verified")


class RestoreState(msgspec.Struct, frozen=True, kw_only=True):
    restore_id: str
    request: RestoreRequested | None = None
    status: RestoreStatus = "requested"
    failure: str | None = None


class TargetsState(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    targets: dict[str, BackupTargetSet] = msgspec.field(default_factory=dict)


def backup_stream(backup_id: str) -> str:
    return f"backup-{backup_id}"


def restore_stream(restore_id: str) -> str:
    return f"restore-{restore_id}"


def backup_request(
    backup_id: str,
    state: DatabaseState,
    target: str,
    reason: BackupReason,
    verify: bool,
    *,
    encrypted: bool = False,
) -> BackupRequested:
    """The request for a backup of `state`'s server, dumped and verified with its image."""
    return BackupRequested(
        backup_id=backup_id,
        database_id=state.database_id,
        team=state.team,
        project=state.project,
        environment=state.environment,
        kind=state.kind,
        image=state.image,
        target=target,
        reason=reason,
        verify=verify,
        encrypted=encrypted,
    )


def evolve_backup(state: BackupState, event: Event) -> BackupState:
    replace = msgspec.structs.replace
    match event:
        case BackupRequested():
            return replace(state, request=event)
        case BackupStored():
            return replace(
                state,
                status="stored",
                key=event.key,
                size=event.size,
                sha256=event.sha256,
                counts=event.counts,
            )
        case BackupReadBack():
            return replace(state, status="read_back")
        case BackupVerified():
            return replace(state, status="verified")
        case BackupFailed():
            return replace(state, status="failed", failure=f"{event.step}: {event.reason}")
        case BackupDeleted():
            return replace(state, deleted=True)
        case _:
            return state


def fold_backup(backup_id: str, events: Iterable[Event]) -> BackupState:
    state = BackupState(backup_id=backup_id)
    for event in events:
        state = evolve_backup(state, event)
    return state


def evolve_restore(state: RestoreState, event: Event) -> RestoreState:
    match event:
        case RestoreRequested():
            return msgspec.structs.replace(state, request=event)
        case RestoreCompleted():
            return msgspec.structs.replace(state, status="completed")
        case RestoreFailed():
            return msgspec.structs.replace(state, status="failed", failure=event.reason)
        case _:
            return state


def fold_restore(restore_id: str, events: Iterable[Event]) -> RestoreState:
    state = RestoreState(restore_id=restore_id)
    for event in events:
        state = evolve_restore(state, event)
    return state


def default_local(team: str) -> BackupTargetSet:
    return BackupTargetSet(team=team, name=LOCAL, kind="local")


def evolve_targets(state: TargetsState, event: Event) -> TargetsState:
    match event:
        case BackupTargetSet():
            return msgspec.structs.replace(state, targets={**state.targets, event.name: event})
        case BackupTargetRemoved():
            kept = {n: t for n, t in state.targets.items() if n != event.name}
            return msgspec.structs.replace(state, targets=kept)
        case TeamCreated() | TeamDeleted():  # a team made again under the slug starts with none
            return msgspec.structs.replace(state, targets={})
        case _:
            return state


def fold_targets(team: str, events: Iterable[Event]) -> TargetsState:
    state = TargetsState(team=team)
    for event in events:
        state = evolve_targets(state, event)
    return state


def target(state: TargetsState, name: str) -> BackupTargetSet:
    """Raises NotFound naming the team's targets."""
    found = state.targets.get(name)
    if found is not None:
        return found
    if name == LOCAL:
        return default_local(state.team)
    known = ", ".join(sorted({LOCAL, *state.targets}))
    raise NotFound(f"team {state.team!r} has no backup target {name!r} (it has: {known})")


def decide_target(
    state: TargetsState, command: SetBackupTarget | RemoveBackupTarget, used_by: list[str]
) -> list[Event]:
    """`used_by`: the databases whose schedules name the target (a removal is refused while
    any does, so no schedule silently stops backing up)."""
    team = state.team
    if isinstance(command, RemoveBackupTarget):
        if command.name == LOCAL:
            raise InvalidCommand("every team keeps its local target: set it again to change it")
        target(state, command.name)
        if used_by:
            raise InvalidCommand(
                f"backup target {command.name!r} is in the schedules of {', '.join(used_by)}:"
                " change those first"
            )
        return [BackupTargetRemoved(team=team, name=command.name)]
    if command.name == LOCAL and command.s3 is not None:
        raise InvalidCommand("the target named local is the instance's directory, never S3")
    s3 = None
    if command.s3 is not None:
        s3 = S3Settings(**msgspec.structs.asdict(command.s3))
    event = BackupTargetSet(
        team=team,
        name=command.name,
        kind="s3" if s3 is not None else "local",
        s3=s3,
        keep_last=command.keep_last,
        keep_days=command.keep_days,
        encryption_key=command.encryption_passphrase,
    )
    if state.targets.get(command.name) == event:
        return []
    return [event]
