"""Backup commands as the API, the CLI and the scheduler call them: a backup or a restore is
asked for on a stream of its own (the reactors do the work and record each step), and a
team's backup targets are set with their secrets sealed."""

from __future__ import annotations

from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.domain import backups, databases
from rivetr.domain.access import Actor, Permission, authorize, authorize_command, home_team
from rivetr.domain.aggregates import BACKUP_TARGETS, BACKUPS, DATABASES, RESTORES
from rivetr.domain.database_commands import (
    BackUpDatabase,
    DeleteBackup,
    RemoveBackupTarget,
    RestoreBackup,
    S3Input,
    SetBackupTarget,
)
from rivetr.domain.database_events import (
    BackupDeleted,
    BackupReason,
    BackupTargetSet,
    RestoreRequested,
)
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.service.commands.databases import DatabaseService, new_id, target_context
from rivetr.service.commands.handler import Part, folded


class BackupService:
    def __init__(self, databases: DatabaseService) -> None:
        self.databases = databases
        self.handler = databases.handler
        self.secrets = databases.secrets
        self.read = databases.read

    async def _database(self, database_id: str) -> databases.DatabaseState:
        return await self.databases.database(database_id)

    async def back_up(
        self, actor: Actor, command: BackUpDatabase, reason: BackupReason = "on_demand"
    ) -> tuple[str, list[RecordedEvent]]:
        """Ask for a backup of a running database to one of its team's targets."""
        current = await self._database(command.database_id)
        backup_id = new_id()

        def together(states: list[Any], c: BackUpDatabase) -> list[Part]:
            state, held_targets, _ = states
            databases.require(state)
            if state.status != "running":
                raise InvalidCommand(
                    f"database {state.name!r} is {state.status}: a backup is taken of a running"
                    " server"
                )
            target = backups.target(held_targets, c.target)
            verify = state.verify_backups if c.verify is None else c.verify
            requested = backups.backup_request(
                backup_id,
                state,
                c.target,
                reason,
                verify,
                encrypted=target.encryption_key is not None,
            )
            return [Part(backups.backup_stream(backup_id), [requested], state.database_id)]

        recorded = await self.handler.execute_together(
            actor,
            command,
            reads=[
                DATABASES.at(command.database_id),
                BACKUP_TARGETS.at(current.team),
                BACKUPS.at(backup_id),  # new: the log refuses it if the id was ever used
            ],
            decide=together,
            resource=command.database_id,
        )
        return backup_id, recorded

    async def restore(
        self, actor: Actor, command: RestoreBackup, dry_run: bool = False
    ) -> RestorePlan:
        """Restore a backup into its own database (a safety backup of the live data first) or
        into another of the same kind; with `dry_run`, only say what would happen.

        Raises:
            NotFound: no such backup or database.
            InvalidCommand: the backup is not whole (failed, deleted, never read back), or
                the database is of another kind, or not running.
        """
        # who may ask is settled before the plan, so a refusal never tells what it found
        target = await self.handler.resolve(command)
        if not dry_run:
            authorize_command(actor, command, target)
        elif not actor.may_read(target.team, target.project):
            raise NotFound(f"no backup with id {command.backup_id}")
        backup = await self._backup(command.backup_id)
        assert backup.request is not None
        into_id = command.into or backup.request.database_id
        into = await self._database(into_id)
        if dry_run and not actor.may_read(into.team, into.project):
            raise NotFound(f"no database with id {into_id}")
        if command.into is not None and not dry_run:  # it overwrites that data: needed there too
            authorize(actor, Permission.MANAGE_APPS, into.team, into.project)
        plan = _plan(backup, into, same=into_id == backup.request.database_id)
        if dry_run:
            return plan
        restore_id = new_id()
        safety_id = new_id() if plan.safety_backup else None

        def together(states: list[Any], c: RestoreBackup) -> list[Part]:
            backup_state, state, held_targets = states[:3]
            checked = _plan(backup_state, state, same=plan.safety_backup)
            parts = []
            if safety_id is not None:
                backups.target(held_targets, backups.LOCAL)
                safety = backups.backup_request(
                    safety_id, state, backups.LOCAL, "before_restore", True
                )
                parts.append(Part(backups.backup_stream(safety_id), [safety], state.database_id))
            requested = RestoreRequested(
                restore_id=restore_id,
                backup_id=c.backup_id,
                database_id=state.database_id,
                safety_backup_id=safety_id,
            )
            parts.append(Part(backups.restore_stream(restore_id), [requested], state.database_id))
            assert checked.kind == plan.kind
            return parts

        plan = msgspec.structs.replace(plan, restore_id=restore_id, safety_backup_id=safety_id)
        await self.handler.execute_together(
            actor,
            command,
            reads=[
                BACKUPS.at(command.backup_id),
                DATABASES.at(into_id),
                BACKUP_TARGETS.at(into.team),
                RESTORES.at(restore_id),
                *([BACKUPS.at(safety_id)] if safety_id else []),
            ],
            decide=together,
            resource=into_id,
        )
        return plan

    async def _backup(self, backup_id: str) -> backups.BackupState:
        state = await folded(self.handler.store, BACKUPS.at(backup_id))
        if state.request is None:
            raise NotFound(f"no backup with id {backup_id}")
        return state

    async def delete_backup(self, actor: Actor, command: DeleteBackup) -> list[RecordedEvent]:
        request = (await self._backup(command.backup_id)).request
        assert request is not None

        def decide(state: backups.BackupState, c: DeleteBackup) -> list[Event]:
            if state.request is None:
                raise NotFound(f"no backup with id {c.backup_id}")
            if state.deleted:
                return []
            return [BackupDeleted(backup_id=c.backup_id, reason=f"deleted by {actor.name}")]

        return await self.handler.execute(
            actor, command, BACKUPS, command.backup_id, decide=decide, resource=request.database_id
        )

    async def set_target(
        self, actor: Actor, command: SetBackupTarget | RemoveBackupTarget
    ) -> list[RecordedEvent]:
        """Add, replace or remove one of a team's backup targets (its secrets sealed)."""
        team = command.team or home_team(actor, Permission.MANAGE_APPS)
        command = msgspec.structs.replace(command, team=team)
        if isinstance(command, SetBackupTarget):
            command = self._seal_target(team, command)
        used_by = []
        if isinstance(command, RemoveBackupTarget):
            used_by = [
                view.name
                for view in await self.read.databases.every([team])
                if any(s.target == command.name for s in view.schedules)
            ]

        def decide(state: backups.TargetsState, c: Any) -> list[Event]:
            return backups.decide_target(state, c, used_by)

        return await self.handler.execute(actor, command, BACKUP_TARGETS, team, decide=decide)

    async def reseal_targets(self, actor: Actor) -> int:
        """Seal every team's backup target secrets again with the newest key (after `rotate`);
        return how many events that appended."""
        appended = 0
        for team in await self.read.databases.teams_with_targets():
            held = await folded(self.handler.store, BACKUP_TARGETS.at(team))
            for target in held.targets.values():
                command = self._opened_target(team, target)
                appended += len(await self.set_target(actor, command))
        return appended

    def _opened_target(self, team: str, held: BackupTargetSet) -> SetBackupTarget:
        """The command that sets `held` again as it is, its secrets opened."""
        s3 = passphrase = None
        if held.s3 is not None:
            context = target_context(team, held.name, "secret_key")
            fields = msgspec.structs.asdict(held.s3)
            s3 = S3Input(**{**fields, "secret_key": self.secrets.open(context, held.s3.secret_key)})
        if held.encryption_key is not None:
            context = target_context(team, held.name, "encryption")
            passphrase = self.secrets.open(context, held.encryption_key)
        return SetBackupTarget(
            team=team,
            name=held.name,
            s3=s3,
            keep_last=held.keep_last,
            keep_days=held.keep_days,
            encryption_passphrase=passphrase,
        )

    def _seal_target(self, team: str, command: SetBackupTarget) -> SetBackupTarget:
        changes: dict[str, object] = {}
        if command.s3 is not None:
            secret = self.secrets.seal(
                target_context(team, command.name, "secret_key"), command.s3.secret_key
            )
            changes["s3"] = msgspec.structs.replace(command.s3, secret_key=secret)
        if command.encryption_passphrase is not None:
            changes["encryption_passphrase"] = self.secrets.seal(
                target_context(team, command.name, "encryption"), command.encryption_passphrase
            )
        return msgspec.structs.replace(command, **changes)


class RestorePlan(msgspec.Struct, frozen=True, kw_only=True):
    """What a restore does (a dry run's answer), and once asked, its id."""

    backup_id: str
    database_id: str
    database: str
    kind: str
    backup_taken_at_target: str
    size: int | None
    counts: dict[str, int]  # what the restored database must answer
    safety_backup: bool  # the live data is backed up first
    steps: list[str]
    restore_id: str | None = None
    safety_backup_id: str | None = None


def _plan(backup: backups.BackupState, into: databases.DatabaseState, *, same: bool) -> RestorePlan:
    request = backup.request
    assert request is not None
    if not backup.usable:
        why = "it was deleted" if backup.deleted else backup.failure or "it is not stored whole yet"
        raise InvalidCommand(f"backup {backup.backup_id} cannot be restored: {why}")
    if request.kind != into.kind:
        raise InvalidCommand(
            f"backup {backup.backup_id} is of a {request.kind} database; {into.name!r} is"
            f" {into.kind}: a backup is restored into a database of its own kind",
            field="into",
        )
    if into.status != "running":
        raise InvalidCommand(
            f"database {into.name!r} is {into.status}: start it to restore into it"
        )
    steps = []
    if same:
        steps.append(f"back up the live data of {into.name!r} to the local target first")
    steps += [
        f"read backup {backup.backup_id} from target {request.target!r} and check its sha256",
        f"replace the data of {into.name!r} with it",
        "check the restored data answers the counts the backup was taken with",
    ]
    return RestorePlan(
        backup_id=backup.backup_id,
        database_id=into.database_id,
        database=into.name,
        kind=into.kind,
        backup_taken_at_target=request.target,
        size=backup.size,
        counts=backup.counts,
        safety_backup=same,
        steps=steps,
    )
