"""What the database and backup reactors would record, written by the tests themselves: the
API, the dashboard and the role matrix only ask and read, so they are tested on the states
these steps put a database or a backup in."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain import backups, databases
from rivetr.domain.access import SYSTEM
from rivetr.domain.database_commands import BackUpDatabase, CreateDatabase, RestoreBackup
from rivetr.domain.database_events import (
    BackupFailed,
    BackupReadBack,
    BackupStored,
    BackupVerified,
    DatabaseRunning,
)

SHA = "ab" * 32


async def _append(services: Any, stream: str, events: list[Any], team: str, resource: str) -> None:
    meta = EventMeta(actor="reactor", team=team, resource=resource)
    recorded = await services.store.append(stream, None, events, meta)
    await services.runner.wait_until(recorded[-1].position)


async def running(services: Any, database_id: str) -> None:
    """The database's container came up healthy."""
    view = await services.read.databases.one(database_id)
    up = DatabaseRunning(database_id=database_id, container=f"db-{database_id}", image=view.image)
    await _append(services, databases.stream_id(database_id), [up], view.team, database_id)


async def backed_up(services: Any, backup_id: str, outcome: str = "verified") -> None:
    """The backup went as far as `outcome`: `stored`, `read_back`, `verified`, or `failed`
    (at the dump)."""
    view = await services.read.databases.backup(backup_id)
    counts = {"public.orders": 3}
    steps: list[Any]
    if outcome == "failed":
        steps = [BackupFailed(backup_id=backup_id, step="dump", reason="pg_dump exited 1")]
    else:
        steps = [
            BackupStored(
                backup_id=backup_id, key=f"k/{backup_id}", size=2048, sha256=SHA, counts=counts
            )
        ]
        if outcome in ("read_back", "verified"):
            steps.append(BackupReadBack(backup_id=backup_id, size=2048, sha256=SHA))
        if outcome == "verified":
            steps.append(BackupVerified(backup_id=backup_id, counts=counts))
    stream = backups.backup_stream(backup_id)
    await _append(services, stream, steps, view.team, view.database_id)


async def database_with_backup(
    services: Any, team: str, project: str = "default", name: str = "pg"
) -> tuple[str, str, str]:
    """A running postgres database of (team, project), a backup of it stored and read back
    (a restore may use it), and a restore of it asked for: their ids."""
    made = CreateDatabase(name=name, kind="postgres", team=team, project=project)
    database_id, _ = await services.databases.create(SYSTEM, made)
    await running(services, database_id)
    backup_id, _ = await services.backups.back_up(SYSTEM, BackUpDatabase(database_id=database_id))
    await backed_up(services, backup_id, "read_back")
    plan = await services.backups.restore(SYSTEM, RestoreBackup(backup_id=backup_id))
    assert plan.restore_id is not None
    return database_id, backup_id, plan.restore_id
