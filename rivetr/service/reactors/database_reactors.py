"""The reactors of managed databases, run together: the keeper (containers), the backup and
restore workers (each backup or restore asked for is taken up once), the upgrader, and the
scheduler that asks for a database's scheduled backups when they are due.

At start, backups and restores a previous run left half-done (Rivetr was stopped or killed
mid-way) are recorded failed, with the step they reached, and their throwaway containers
removed, and so are the files it was writing to local targets: nothing half-written is ever
counted as a backup, or left to fill the disk. A restore's safety backup stored
whole and read back stays usable: the failed restore names it as the way back. Upgrades left
under way are rolled back once the engine is reachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import anyio

from rivetr.adapters.backup_targets.local import sweep_partials
from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable
from rivetr.domain import backup_schedule
from rivetr.domain.access import SYSTEM
from rivetr.domain.database_commands import BackUpDatabase
from rivetr.domain.database_events import (
    BackupFailed,
    BackupRequested,
    BackupStep,
    DatabaseUpgradeRequested,
    RestoreFailed,
    RestoreRequested,
)
from rivetr.domain.errors import DomainError
from rivetr.service.commands.backups import BackupService
from rivetr.service.reactors.backup_worker import BackupWorker
from rivetr.service.reactors.database_upgrades import DatabaseUpgrader
from rivetr.service.reactors.restore_worker import RestoreWorker

log = logging.getLogger(__name__)

SCHEDULE_TICK_S = 60.0  # cron's resolution: a minute
_STEP_AFTER: dict[str, BackupStep] = {
    "requested": "dump",
    "stored": "read_back",
    "read_back": "restore",
}


class DatabaseReactors:
    def __init__(
        self, backups: BackupWorker, restores: RestoreWorker, service: BackupService
    ) -> None:
        self.backups = backups
        self.restores = restores
        self.upgrades = DatabaseUpgrader(backups)
        self.keeper = backups.keeper
        self.service = service
        self.read = service.read
        self._tasks: set[asyncio.Task[None]] = set()
        self._copying: set[str] = set()  # databases this run has made throwaway copies of

    async def run(self, after: int) -> None:
        """Follow the log from `after` (what was asked before it, `fail_interrupted` ended)."""
        try:
            async for recorded in self.backups.store.subscribe(after):
                event = recorded.event
                if isinstance(event, BackupRequested):
                    self._copying.add(event.database_id)
                    self._spawn(self.backups.back_up(event.backup_id))
                elif isinstance(event, RestoreRequested):
                    self._copying.add(event.database_id)
                    self._spawn(self.restores.restore(event.restore_id))
                elif isinstance(event, DatabaseUpgradeRequested):
                    self._spawn(self.upgrades.upgrade(event.database_id))
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def fail_interrupted(self) -> None:
        """Record every backup and restore a previous run left unfinished as failed, remove
        the files it was writing to a local target, and note the upgrades left under way
        (rolled back by `roll_back_upgrades`)."""
        upgrading, interrupted = [], []
        for database in await self.read.databases.every():
            if (await self.keeper.state(database.database_id)).upgrade_id is not None:
                upgrading.append(database.database_id)
            for backup in await self.read.databases.backups_of(database.database_id):
                state = await self.backups.state(backup.backup_id)
                if state.request is None or state.status not in _STEP_AFTER:
                    continue
                if state.status == "read_back" and not state.request.verify:
                    continue  # done: stored whole, and no verification was asked for
                if state.status == "read_back" and state.request.reason == "before_restore":
                    # stored whole and read back: the failed restore names it as the way back,
                    # so its cut-off verification must not make it unrestorable
                    continue
                interrupted.append(backup.backup_id)
                await self.backups.record(
                    state.request,
                    BackupFailed(
                        backup_id=backup.backup_id,
                        step=_STEP_AFTER[state.status],
                        reason="Rivetr stopped before the backup was finished",
                    ),
                )
            for restore in await self.read.databases.restores_of(database.database_id):
                restoring = await self.restores.state(restore.restore_id)
                if restoring.request is not None and restoring.status == "requested":
                    safety = restoring.request.safety_backup_id
                    await self.restores.record(
                        restoring.request,
                        RestoreFailed(
                            restore_id=restore.restore_id,
                            reason="Rivetr stopped before the restore was finished"
                            + (
                                f"; backup {safety} holds the data as it was before"
                                if safety
                                else ""
                            ),
                        ),
                    )

        root = self.backups.targets.backups_dir
        swept = await anyio.to_thread.run_sync(sweep_partials, root, interrupted)
        if swept:
            log.info("removed %d half-written backup file(s) a previous run left", len(swept))
        self.upgrades.note_interrupted(upgrading)

    async def roll_back_upgrades(self) -> None:
        """Roll back the upgrades a previous run left under way (the engine must be reachable)."""
        await self.upgrades.roll_back_interrupted()

    async def remove_throwaways(self) -> None:
        """Remove the throwaway copies a previous run left (a backup's verification cut off):
        only of this instance's databases (another Rivetr on the engine has its own), and not
        of those this run has since begun to back up or restore (their copies are in use)."""
        runtime = self.backups.runtime()
        if runtime is None:
            return
        ours = {view.database_id for view in await self.read.databases.every()}

        def left(labels: dict[str, str]) -> bool:
            database = labels.get("rivetr.database", "")
            return database in ours and database not in self._copying

        try:
            for container in await runtime.list_containers({"rivetr.throwaway": "true"}):
                if left(container.labels):
                    await runtime.remove_container(container.id, force=True)
            for volume in await runtime.list_volumes({"rivetr.throwaway": "true"}):
                if left(volume.labels):
                    await runtime.remove_volume(volume.name)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not remove a throwaway database copy: %s", exc)

    async def schedule(self) -> None:
        """Ask for each database's scheduled backups when due, once a minute."""
        while True:
            await self.tick(self.backups.clock.now())
            # the wall clock's minute, not the clock port's: a test's virtual clock is moved on
            # by what it drives (a health deadline), never by an idle scheduler
            await anyio.sleep(SCHEDULE_TICK_S)

    async def tick(self, now: datetime) -> list[str]:
        """The backups asked for at `now`: one for each schedule due since its last run (or,
        never run, since the database was made), however many runs were missed."""
        asked = []
        for database in await self.read.databases.every():
            if not database.schedules or database.status != "running":
                continue
            taken = await self.read.databases.backups_of(database.database_id, deleted=True)
            for schedule in database.schedules:
                last = max(
                    (
                        b.requested_at
                        for b in taken
                        if b.reason == "schedule" and b.target == schedule.target
                    ),
                    default=database.created_at,
                )
                try:
                    if not backup_schedule.due(
                        schedule.cron, schedule.timezone, datetime.fromisoformat(last), now
                    ):
                        continue
                    backup_id, _ = await self.service.back_up(
                        SYSTEM,
                        BackUpDatabase(database_id=database.database_id, target=schedule.target),
                        "schedule",
                    )
                except DomainError as exc:
                    log.warning("scheduled backup of %s not taken: %s", database.name, exc)
                    continue
                asked.append(backup_id)
        return asked
