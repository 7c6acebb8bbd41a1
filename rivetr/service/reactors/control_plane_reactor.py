"""The running service's part in control-plane backups: it takes the backups asked of it
(through the API, `taken_by="service"`; the CLI takes its own), asks for the scheduled ones
when due (cron and zone read as for databases, `domain/backup_schedule.py`), and at start
records as failed those a previous run left half-done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import anyio

from rivetr.domain import backup_schedule
from rivetr.domain.access import SYSTEM
from rivetr.domain.control_plane import BackUpControlPlane
from rivetr.domain.control_plane_events import ControlPlaneBackupFailed, ControlPlaneBackupRequested
from rivetr.domain.errors import DomainError
from rivetr.service.commands.control_plane import ControlPlaneService
from rivetr.service.reactors.control_plane_backup import ControlPlaneBackups
from rivetr.service.reactors.control_plane_restore import sweep_scratch

log = logging.getLogger(__name__)

SCHEDULE_TICK_S = 60.0  # cron's resolution: a minute
_STEP_AFTER = {"requested": "copy", "stored": "read_back", "read_back": "restore"}


class ControlPlaneReactor:
    def __init__(self, service: ControlPlaneService, backups: ControlPlaneBackups) -> None:
        self.service = service
        self.backups = backups
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self, after: int) -> None:
        """Follow the log from `after` and take each backup asked of the service."""
        try:
            async for recorded in self.backups.store.subscribe(after):
                event = recorded.event
                if isinstance(event, ControlPlaneBackupRequested) and event.taken_by == "service":
                    self._spawn(self.backups.take(event.backup_id))
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def fail_interrupted(self) -> list[str]:
        """Record as failed the backups this service was taking when it stopped (the CLI's
        may still be running in their own process: they are theirs to end), and remove the
        scratch copies a killed backup left in the data directory."""
        swept = await anyio.to_thread.run_sync(sweep_scratch, self.backups.data)
        if swept:
            log.info("removed %d scratch copies a stopped backup left", len(swept))
        failed = []
        for backup in (await self.service.state()).backups.values():
            if backup.request.taken_by != "service" or backup.status not in _STEP_AFTER:
                continue
            await self.backups.record(
                ControlPlaneBackupFailed(
                    backup_id=backup.backup_id,
                    step=_STEP_AFTER[backup.status],  # type: ignore[arg-type]
                    reason="Rivetr stopped before the backup was finished",
                )
            )
            failed.append(backup.backup_id)
        return failed

    async def schedule(self) -> None:
        """Ask for the scheduled backups when due, once a minute."""
        while True:
            await self.tick(self.backups.clock.now())
            await anyio.sleep(SCHEDULE_TICK_S)

    async def tick(self, now: datetime) -> list[str]:
        """The backups asked for at `now`: one for each schedule due since its last run (or,
        never run, since the schedules were set), however many runs were missed."""
        current = await self.service.current_schedules()
        if current.set_at is None:
            return []
        asked = []
        for schedule in current.schedules:
            last = await self.service.last_scheduled(schedule.target)
            set_at = datetime.fromisoformat(current.set_at)
            since = set_at if last is None else max(last, set_at)
            try:
                if not backup_schedule.due(schedule.cron, schedule.timezone, since, now):
                    continue
                backup_id = await self.service.back_up(
                    SYSTEM,
                    BackUpControlPlane(target=schedule.target, with_key=schedule.with_key),
                    reason="schedule",
                )
            except DomainError as exc:
                log.warning("scheduled control-plane backup not taken: %s", exc)
                continue
            asked.append(backup_id)
        return asked
