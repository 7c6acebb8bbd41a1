"""The control plane's own backups as metrics, read from the "control-plane" stream at scrape
time (a few events a day: no view of their own): each backup by where it got to, and how long
ago the newest one was verified, for an alert when scheduled backups stop being proven."""

from __future__ import annotations

from datetime import datetime

from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain import control_plane
from rivetr.domain.control_plane_events import STREAM, ControlPlaneBackupVerified
from rivetr.service.metrics.exposition import Family, labels, sample

RESULTS = ("requested", "stored", "read_back", "verified", "failed")


async def control_plane_backups(store: EventStore, now: datetime) -> list[Family]:
    history = await store.read_stream(STREAM)
    state = control_plane.fold("", [recorded.event for recorded in history])
    results = dict.fromkeys(RESULTS, 0)
    for backup in state.backups.values():
        results[backup.status] += 1
    verified = [r.recorded_at for r in history if isinstance(r.event, ControlPlaneBackupVerified)]
    ages = []
    if verified:
        age = (now - datetime.fromisoformat(verified[-1])).total_seconds()
        ages.append(sample("", max(age, 0.0)))
    return [
        Family(
            "rivetr_control_plane_backups_total",
            "Backups of the control plane (log, certificates, key), by where each got to.",
            "counter",
            [sample(labels(("result", result)), count) for result, count in results.items()],
        ),
        Family(
            "rivetr_control_plane_backup_last_verified_age_seconds",
            "Seconds since the newest control-plane backup was verified.",
            "gauge",
            ages,
        ),
    ]
