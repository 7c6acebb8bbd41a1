"""Retention, carried out: after each backup, the finished backups of that database on that
target are weighed against the target's policy (`domain/retention.py`: the newest verified
backup is never deleted) and the others' objects are deleted, each with `backup.deleted`
saying why. Each backup's state is folded from its own stream, not the read model, so a view
that lags can never make a verified backup look unverified."""

from __future__ import annotations

import logging
from datetime import datetime

from rivetr.adapters.backup_targets.base import BackupTargetError
from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.secrets import SecretError
from rivetr.domain import backups, retention
from rivetr.domain.aggregates import BACKUPS
from rivetr.domain.database_events import BackupDeleted
from rivetr.domain.errors import NotFound
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.handler import folded
from rivetr.service.reactors.target_opener import TargetOpener

log = logging.getLogger(__name__)

ACTOR = "system:retention"
_FINISHED = ("read_back", "verified", "failed")


class RetentionPruner:
    def __init__(
        self, store: EventStore, read: ReadModel, targets: TargetOpener, clock: Clock
    ) -> None:
        self.store = store
        self.read = read
        self.targets = targets
        self.clock = clock

    async def prune(self, team: str, target_name: str, database_id: str) -> list[str]:
        """Delete what the target's policy does not keep of the database's backups there;
        returns their ids."""
        try:
            settings = await self.targets.settings(team, target_name)
        except NotFound:
            return []
        if settings.keep_last is None and settings.keep_days is None:
            return []
        policy = retention.RetentionPolicy(
            keep_last=settings.keep_last, keep_days=settings.keep_days
        )
        finished: dict[str, tuple[backups.BackupState, datetime]] = {}
        for view in await self.read.databases.backups_of(database_id):
            if view.target != target_name:
                continue
            state = await folded(self.store, BACKUPS.at(view.backup_id))
            if state.status in _FINISHED and not state.deleted:
                finished[view.backup_id] = (state, datetime.fromisoformat(view.requested_at))
        verdicts = retention.decide(
            policy,
            [
                retention.StoredBackup(
                    id=backup_id,
                    taken_at=taken,
                    verified=state.status == "verified",
                    failed=state.status == "failed",
                )
                for backup_id, (state, taken) in finished.items()
            ],
            self.clock.now(),
        )
        deleted = []
        for verdict in verdicts:
            if verdict.keep:
                continue
            state = finished[verdict.backup.id][0]
            if state.key is not None and not await self._delete_object(
                team, target_name, state.key
            ):
                continue
            reason = "retention: " + "; ".join(verdict.reasons)
            await self.store.append(
                backups.backup_stream(state.backup_id),
                None,
                [BackupDeleted(backup_id=state.backup_id, reason=reason)],
                EventMeta(actor=ACTOR, source="system", team=team, resource=database_id),
            )
            deleted.append(state.backup_id)
        return deleted

    async def _delete_object(self, team: str, target_name: str, key: str) -> bool:
        try:
            target = await self.targets.open(team, target_name)
            await target.target.delete(key)
        except (BackupTargetError, SecretError, NotFound) as exc:
            log.warning("retention could not delete %s from %s: %s", key, target_name, exc)
            return False
        return True
