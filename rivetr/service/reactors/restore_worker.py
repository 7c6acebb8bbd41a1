"""The restore worker reacts to `restore.requested`: it waits for the safety backup of the live
data (when one was asked for) to be stored whole, reads the chosen backup back whole and checks
its sha256 and its kind BEFORE touching the database, then puts it in (streamed into the
running server, or written as the data file while the server is stopped) and checks the
database answers the counts the backup was taken with."""

from __future__ import annotations

import logging

from rivetr.adapters.backup_targets.base import BackupTargetError, Digest
from rivetr.adapters.backup_targets.encryption import BackupDecryptionError
from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable
from rivetr.adapters.runtime.execution import ExecFailed
from rivetr.adapters.secrets import SecretError
from rivetr.domain import backups
from rivetr.domain.aggregates import RESTORES
from rivetr.domain.backups import BackupState, RestoreState
from rivetr.domain.database_events import RestoreCompleted, RestoreFailed, RestoreRequested
from rivetr.domain.database_kinds import HEAD_BYTES, detect_kind
from rivetr.domain.errors import DomainError
from rivetr.domain.event_base import Event
from rivetr.service.commands.handler import folded
from rivetr.service.reactors.backup_worker import BackupWorker, describe, plain
from rivetr.service.reactors.database_containers import (
    NotHealthy,
    container_name,
    credentials,
    image_of,
    kind_of,
    spec,
    volume_name,
    wait_healthy,
)
from rivetr.service.reactors.database_copies import feed, place_file, run_check
from rivetr.service.reactors.overlay import join_overlay

log = logging.getLogger(__name__)

ACTOR = "system:restores"
_SAFETY_POLL_S = 1.0
_STOP_TIMEOUT_S = 30.0
_ERRORS = (
    ContainerError,
    EngineUnavailable,
    ExecFailed,
    BackupTargetError,
    BackupDecryptionError,
    NotHealthy,
    SecretError,
    DomainError,
    TimeoutError,
    ValueError,
)


class RestoreRefused(Exception):
    """The backup cannot be restored; nothing of the live data was touched."""


class RestoreWorker:
    def __init__(self, store: EventStore, backups_worker: BackupWorker, clock: Clock) -> None:
        self.store = store
        self.worker = backups_worker
        self.keeper = backups_worker.keeper
        self.clock = clock

    async def state(self, restore_id: str) -> RestoreState:
        return await folded(self.store, RESTORES.at(restore_id))

    async def restore(self, restore_id: str) -> None:
        state = await self.state(restore_id)
        request = state.request
        if request is None or state.status != "requested":
            return
        try:
            counts = await self._restore(request)
        except RestoreRefused as refused:
            await self.record(
                request,
                RestoreFailed(
                    restore_id=restore_id, reason=f"{refused}; the live data was not touched"
                ),
            )
        except _ERRORS as exc:
            reason = getattr(exc, "cause", None) or str(exc) or type(exc).__name__
            safety = (
                f"; backup {request.safety_backup_id} holds the data as it was before"
                if request.safety_backup_id
                else ""
            )
            await self.record(
                request, RestoreFailed(restore_id=restore_id, reason=f"{reason}{safety}")
            )
        else:
            await self.record(request, RestoreCompleted(restore_id=restore_id, counts=counts))

    async def _restore(self, request: RestoreRequested) -> dict[str, int]:
        if request.safety_backup_id is not None:
            await self._safety_first(request.safety_backup_id)
        backup = await self.worker.state(request.backup_id)
        if not backup.usable or backup.request is None or backup.key is None:
            raise RestoreRefused(
                f"backup {request.backup_id} is not stored whole"
                f" ({backup.failure or backup.status})"
            )
        database = await self.keeper.state(request.database_id)
        kind = kind_of(database)
        if backup.request.kind != database.kind:
            raise RestoreRefused(
                f"backup {request.backup_id} is of a {backup.request.kind} database,"
                f" not {database.kind}"
            )
        runtime = self.worker.runtime()
        if runtime is None:
            raise RestoreRefused("the container engine is not reachable")
        try:
            target = await self.worker.targets.open(backup.request.team, backup.request.target)
            await self._whole(backup, target)
            await self._of_kind(backup, target, database.kind)
        except (BackupTargetError, BackupDecryptionError, SecretError, DomainError) as exc:
            raise RestoreRefused(getattr(exc, "cause", None) or str(exc)) from exc
        creds = credentials(self.keeper.secrets, database)
        name = container_name(database.database_id)
        async with self.keeper.lock(database.database_id):
            if kind.restore_mode == "file_before_start":
                await runtime.stop_container(name, timeout_s=_STOP_TIMEOUT_S)
                await runtime.remove_container(name, force=True)
                await place_file(
                    runtime,
                    f"{name}-restore",
                    image_of(database, self.keeper.images),
                    volume_name(database.database_id),
                    kind,
                    creds,
                    plain(target, backup.key),
                    {"rivetr.database": database.database_id},
                )
                await runtime.run_container(spec(database, creds, self.keeper.images))
                await join_overlay(runtime, database)
                await wait_healthy(runtime, name, self.clock, self.keeper.health_timeout_s)
            else:
                await feed(runtime, name, kind, creds, plain(target, backup.key))
            restored = await run_check(runtime, name, kind, creds)
        differ = {t: n for t, n in backup.counts.items() if restored.get(t) != n}
        if differ:
            raise ValueError(
                "restored, but the database answers"
                f" {describe({t: restored.get(t, 0) for t in differ})} where the backup holds"
                f" {describe(differ)}"
            )
        return restored

    async def _safety_first(self, safety_id: str) -> None:
        """Wait for the safety backup to be stored whole (or refuse the restore if it failed)."""
        while True:
            safety = await self.worker.state(safety_id)
            if safety.usable:
                return
            if safety.status == "failed" or safety.deleted:
                raise RestoreRefused(f"the safety backup {safety_id} failed ({safety.failure})")
            await self.clock.sleep(_SAFETY_POLL_S)

    async def _whole(self, backup: BackupState, target: object) -> None:
        """Read the stored object back whole: a truncated or altered one is refused here."""
        assert backup.key is not None
        digest = Digest()
        async for chunk in target.target.get(backup.key):  # type: ignore[attr-defined]
            digest.update(chunk)
        read = digest.stored(backup.key)
        if (read.size, read.sha256) != (backup.size, backup.sha256):
            raise RestoreRefused(
                f"backup {backup.backup_id} on its target is not what was stored: {read.size}"
                f" bytes, sha256 {read.sha256}; stored {backup.size} bytes, sha256 {backup.sha256}"
            )

    async def _of_kind(self, backup: BackupState, target: object, kind: str) -> None:
        """Refuse a backup whose bytes are another kind's (a file put there by hand, say)."""
        assert backup.key is not None
        head = b""
        stream = plain(target, backup.key)  # type: ignore[arg-type]
        try:
            async for chunk in stream:
                head += chunk
                if len(head) >= HEAD_BYTES:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        found = detect_kind(head)
        alike = {kind, *({"mysql", "mariadb"} if kind in ("mysql", "mariadb") else set())}
        if found not in alike:
            raise RestoreRefused(
                f"backup {backup.backup_id} holds {found or 'no known kind of'} data,"
                f" not a {kind} dump"
            )

    async def record(self, request: RestoreRequested, event: Event) -> None:
        database = await self.keeper.state(request.database_id)
        await self.store.append(
            backups.restore_stream(request.restore_id),
            None,
            [event],
            EventMeta(
                actor=ACTOR, source="system", team=database.team, resource=request.database_id
            ),
        )
