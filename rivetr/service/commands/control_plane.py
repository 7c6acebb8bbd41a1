"""Backups of the control plane as the API, the CLI and the scheduler ask for them: only an
instance administrator may (a backup is every team's history), into one of the default team's
targets (the instance's); the listing and the schedules are read from the "control-plane"
stream itself."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain import backups, control_plane
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import BACKUP_TARGETS, CONTROL_PLANE
from rivetr.domain.control_plane import (
    BackUpControlPlane,
    ControlPlaneBackup,
    ControlPlaneState,
    SetControlPlaneSchedules,
)
from rivetr.domain.control_plane_events import (
    STREAM,
    ControlPlaneBackupRequested,
    ControlPlaneReason,
    ControlPlaneSchedule,
    ControlPlaneSchedulesSet,
    TakenBy,
)
from rivetr.domain.errors import Forbidden
from rivetr.domain.teams import ROOT_TEAM
from rivetr.service.commands.handler import CommandHandler, Part


class ControlPlaneBackupView(msgspec.Struct, frozen=True, kw_only=True):
    backup_id: str
    status: str
    target: str
    with_key: bool
    reason: str
    taken_by: str
    requested_at: str
    requested_by: str
    prefix: str | None = None
    head_position: int | None = None
    head_hash: str | None = None
    rivetr_version: str | None = None
    size: int | None = None
    events_verified: int | None = None
    failed_step: str | None = None
    deleted: bool = False  # its objects deleted from the target by retention
    failure: str | None = None


class ControlPlaneSchedules(msgspec.Struct, frozen=True, kw_only=True):
    schedules: list[ControlPlaneSchedule]
    set_at: str | None = None  # when they were set: a schedule never run counts from then
    set_by: str | None = None


def new_backup_id() -> str:
    return secrets.token_hex(6)


def _authorize_read(actor: Actor) -> None:
    if not actor.administers_instance():
        raise Forbidden(
            f"{actor.label} does not administer this instance: only an instance admin sees"
            " the control plane's backups"
        )


class ControlPlaneService:
    def __init__(self, handler: CommandHandler) -> None:
        self.handler = handler

    @property
    def store(self) -> EventStore:
        return self.handler.store

    async def back_up(
        self,
        actor: Actor,
        command: BackUpControlPlane,
        *,
        passphrase: str | None = None,
        reason: ControlPlaneReason = "on_demand",
        taken_by: TakenBy = "service",
    ) -> str:
        """Ask for a backup; returns its id. `passphrase`: one given for the key file (the
        CLI's), which is never recorded; without it, the target's is used.

        Raises:
            Forbidden: the actor does not administer the instance.
            NotFound: the instance has no such target.
            InvalidCommand: the key asked for with no passphrase to encrypt it.
        """
        backup_id = new_backup_id()

        def decide(states: list[Any], c: BackUpControlPlane) -> list[Part]:
            _, targets = states
            target = backups.target(targets, c.target)
            encrypted = passphrase is not None or target.encryption_key is not None
            events = control_plane.decide_backup(
                c, backup_id, passphrase=encrypted, reason=reason, taken_by=taken_by
            )
            return [Part(STREAM, events)]

        await self.handler.execute_together(
            actor,
            command,
            reads=[CONTROL_PLANE.at(), BACKUP_TARGETS.at(ROOT_TEAM)],
            decide=decide,
        )
        return backup_id

    async def set_schedules(self, actor: Actor, command: SetControlPlaneSchedules) -> None:
        def decide(states: list[Any], c: SetControlPlaneSchedules) -> list[Part]:
            state, targets = states
            held = {backups.LOCAL: backups.default_local(ROOT_TEAM), **targets.targets}
            encrypted = {name: t.encryption_key is not None for name, t in held.items()}
            return [Part(STREAM, control_plane.decide_schedules(state, c, encrypted))]

        await self.handler.execute_together(
            actor,
            command,
            reads=[CONTROL_PLANE.at(), BACKUP_TARGETS.at(ROOT_TEAM)],
            decide=decide,
        )

    async def state(self) -> ControlPlaneState:
        history = await self.store.read_stream(STREAM)
        return control_plane.fold("", [recorded.event for recorded in history])

    async def schedules(self, actor: Actor) -> ControlPlaneSchedules:
        _authorize_read(actor)
        return await self.current_schedules()

    async def current_schedules(self) -> ControlPlaneSchedules:
        """The schedules and when they were set (for the scheduler: no actor needed)."""
        found = ControlPlaneSchedules(schedules=[])
        for recorded in await self.store.read_stream(STREAM):
            if isinstance(recorded.event, ControlPlaneSchedulesSet):
                found = ControlPlaneSchedules(
                    schedules=list(recorded.event.schedules),
                    set_at=recorded.recorded_at,
                    set_by=recorded.actor,
                )
        return found

    async def backups(self, actor: Actor) -> list[ControlPlaneBackupView]:
        """Every control-plane backup, newest first."""
        _authorize_read(actor)
        return await self.every()

    async def backup(self, actor: Actor, backup_id: str) -> ControlPlaneBackupView:
        _authorize_read(actor)
        state = await self.state()
        found = control_plane.backup(state, backup_id)
        return next(v for v in await self.every() if v.backup_id == found.backup_id)

    async def every(self) -> list[ControlPlaneBackupView]:
        history = await self.store.read_stream(STREAM)
        state = control_plane.fold("", [recorded.event for recorded in history])
        asked = {
            r.event.backup_id: r
            for r in history
            if isinstance(r.event, ControlPlaneBackupRequested)
        }
        views = [
            _view(b, asked[b.backup_id].recorded_at, asked[b.backup_id].actor)
            for b in state.backups.values()
        ]
        return views[::-1]

    async def last_scheduled(self, target: str) -> datetime | None:
        """When the newest scheduled backup to `target` was asked for."""
        last = None
        for recorded in await self.store.read_stream(STREAM):
            event = recorded.event
            if (
                isinstance(event, ControlPlaneBackupRequested)
                and event.reason == "schedule"
                and event.target == target
            ):
                last = datetime.fromisoformat(recorded.recorded_at)
        return last


def _view(backup: ControlPlaneBackup, requested_at: str, actor: str) -> ControlPlaneBackupView:
    request, stored = backup.request, backup.stored
    return ControlPlaneBackupView(
        backup_id=backup.backup_id,
        status=backup.status,
        target=request.target,
        with_key=request.with_key,
        reason=request.reason,
        taken_by=request.taken_by,
        requested_at=requested_at,
        requested_by=actor,
        prefix=stored.prefix if stored else None,
        head_position=stored.head_position if stored else None,
        head_hash=stored.head_hash if stored else None,
        rivetr_version=stored.rivetr_version if stored else None,
        size=sum(f.size for f in stored.files) if stored else None,
        events_verified=backup.events_verified,
        failed_step=backup.failed_step,
        failure=backup.failure,
        deleted=backup.deleted,
    )
