"""Retention of the control plane's backups: after each one is verified, the control-plane
backups on its target are weighed against the target's policy (keep_last, keep_days: the rules
of `domain/retention.py`, the same as for databases' backups; the newest verified backup is
never deleted), and the objects of those not kept are deleted, each with
`control_plane.backup_deleted` saying why."""

from __future__ import annotations

import logging
from datetime import datetime

from rivetr.adapters.backup_targets.base import BackupTargetError
from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.secrets import SecretError
from rivetr.domain import control_plane, retention
from rivetr.domain.control_plane import ControlPlaneBackup
from rivetr.domain.control_plane_events import (
    STREAM,
    ControlPlaneBackupDeleted,
    ControlPlaneBackupRequested,
)
from rivetr.domain.errors import NotFound
from rivetr.domain.teams import ROOT_TEAM
from rivetr.service.reactors.target_opener import TargetOpener

log = logging.getLogger(__name__)
_FINISHED = ("read_back", "verified", "failed")


async def prune(
    store: EventStore, targets: TargetOpener, clock: Clock, target_name: str, meta: EventMeta
) -> list[str]:
    """Delete what `target_name`'s policy does not keep of the control plane's backups there;
    returns their ids."""
    try:
        settings = await targets.settings(ROOT_TEAM, target_name)
    except NotFound:
        return []
    if settings.keep_last is None and settings.keep_days is None:
        return []
    history = await store.read_stream(STREAM)
    state = control_plane.fold("", [r.event for r in history])
    asked = {
        r.event.backup_id: datetime.fromisoformat(r.recorded_at)
        for r in history
        if isinstance(r.event, ControlPlaneBackupRequested)
    }
    finished = {
        b.backup_id: b
        for b in state.backups.values()
        if b.request.target == target_name and b.status in _FINISHED and not b.deleted
    }
    policy = retention.RetentionPolicy(keep_last=settings.keep_last, keep_days=settings.keep_days)
    weighed = [
        retention.StoredBackup(
            id=b.backup_id,
            taken_at=asked[b.backup_id],
            verified=b.status == "verified",
            failed=b.status == "failed",
        )
        for b in finished.values()
    ]
    deleted = []
    for verdict in retention.decide(policy, weighed, clock.now()):
        if verdict.keep:
            continue
        backup = finished[verdict.backup.id]
        if not await _delete_objects(targets, backup):
            continue
        reason = "retention: " + "; ".join(verdict.reasons)
        event = ControlPlaneBackupDeleted(backup_id=backup.backup_id, reason=reason)
        await store.append(STREAM, None, [event], meta)
        deleted.append(backup.backup_id)
    return deleted


async def _delete_objects(targets: TargetOpener, backup: ControlPlaneBackup) -> bool:
    """Delete every object under the backup's prefix; False (and nothing recorded) when the
    target cannot be reached, so the next backup tries again."""
    if backup.stored is None:
        return True  # failed before anything was stored whole: nothing to delete
    prefix = backup.stored.prefix + "/"
    try:
        target = await targets.open(ROOT_TEAM, backup.request.target)
        for stored in await target.target.list(prefix):
            await target.target.delete(stored.key)
    except (BackupTargetError, SecretError, NotFound) as exc:
        log.warning("retention could not delete %s from %s: %s", prefix, backup.request.target, exc)
        return False
    return True
