"""The backup worker reacts to `backup.requested`: it counts the source, streams the dump from
the database's container to the target (encrypted on the way when the target says so), reads
the stored object back whole and checks its size and sha256, then (unless asked not to)
restores it into a throwaway container of the same image and checks it answers the same
counts. Every step is an event; a failure is `backup.failed` with its step and cause, and a
backup that failed leaves no object counted as one. Retention then prunes the target."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from rivetr.adapters.backup_targets.base import BackupTargetError, Digest, StoredObject
from rivetr.adapters.backup_targets.encryption import BackupDecryptionError, decrypt, encrypt
from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime, EngineUnavailable
from rivetr.adapters.runtime.execution import ExecFailed
from rivetr.adapters.secrets import SecretError
from rivetr.domain import backups
from rivetr.domain.aggregates import BACKUPS
from rivetr.domain.backups import BackupState
from rivetr.domain.database_events import (
    BackupFailed,
    BackupReadBack,
    BackupRequested,
    BackupStep,
    BackupStored,
    BackupVerified,
)
from rivetr.domain.database_kinds import Credentials, DatabaseKind
from rivetr.domain.databases import DatabaseState
from rivetr.domain.errors import DomainError
from rivetr.domain.event_base import Event
from rivetr.service.commands.handler import folded
from rivetr.service.reactors.database_containers import (
    NotHealthy,
    container_name,
    credentials,
    kind_of,
)
from rivetr.service.reactors.database_copies import ThrowawayCopy, run_check
from rivetr.service.reactors.database_keeper import DatabaseKeeper
from rivetr.service.reactors.retention_pruner import RetentionPruner
from rivetr.service.reactors.step_failures import StepFailed, during
from rivetr.service.reactors.target_opener import OpenedTarget, TargetOpener

log = logging.getLogger(__name__)

ACTOR = "system:backups"
# what a failure at each kind of error is, step by step
_FAILURES = (
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


def backup_key(request: BackupRequested, name: str, kind: DatabaseKind, taken: str) -> str:
    """Where a backup is stored on its target: by place and database, then by time (sorted
    listings read oldest first), then by id."""
    extension = kind.artifact.extension + (".enc" if request.encrypted else "")
    return (
        f"{request.project}/{request.environment}/{name}-{request.database_id}/"
        f"{taken}-{request.backup_id}{extension}"
    )


class BackupWorker:
    def __init__(
        self,
        store: EventStore,
        runtime: Callable[[], ContainerRuntime | None],
        keeper: DatabaseKeeper,
        targets: TargetOpener,
        pruner: RetentionPruner,
        clock: Clock,
        *,
        verify_timeout_s: float = 300.0,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.keeper = keeper
        self.targets = targets
        self.pruner = pruner
        self.clock = clock
        self.verify_timeout_s = verify_timeout_s

    async def state(self, backup_id: str) -> BackupState:
        return await folded(self.store, BACKUPS.at(backup_id))

    async def back_up(self, backup_id: str) -> None:
        """Take the backup, if it is still only asked for (a repeat does nothing)."""
        state = await self.state(backup_id)
        request = state.request
        if request is None or state.status != "requested":
            return
        try:
            await self._take(request)
        except StepFailed as failed:
            await self.record(
                request, BackupFailed(backup_id=backup_id, step=failed.step, reason=failed.reason)
            )
        await self.pruner.prune(request.team, request.target, request.database_id)

    async def _take(self, request: BackupRequested) -> None:
        runtime = self.runtime()
        if runtime is None:
            raise StepFailed("dump", "the container engine is not reachable")
        database = await self.keeper.state(request.database_id)
        if database.deleted:
            raise StepFailed("dump", "the database was deleted")
        kind = kind_of(database)
        with _step("dump"):
            creds = credentials(self.keeper.secrets, database)
            target = await self.targets.open(request.team, request.target)
            counts = await run_check(runtime, container_name(database.database_id), kind, creds)
        key = backup_key(request, database.name, kind, self.clock.now().strftime("%Y%m%dT%H%M%SZ"))
        started = self.clock.monotonic()
        stored = await self._store(runtime, database, kind, creds, target, key)
        seconds = round(self.clock.monotonic() - started, 3)
        await self.record(
            request,
            BackupStored(
                backup_id=request.backup_id,
                key=key,
                size=stored.size,
                sha256=stored.sha256 or "",
                counts=counts,
                seconds=seconds,
            ),
        )
        await self._read_back(request, target, key, stored.size, stored.sha256 or "")
        if request.verify:
            await self._verify(runtime, request, database, target, key, counts)

    async def _store(
        self,
        runtime: ContainerRuntime,
        database: DatabaseState,
        kind: DatabaseKind,
        creds: Credentials,
        target: OpenedTarget,
        key: str,
    ) -> StoredObject:
        dump = kind.dump(creds)
        output: AsyncIterator[bytes] = aiter(
            runtime.exec_output(
                container_name(database.database_id), list(dump.argv), env=dict(dump.env)
            )
        )
        if target.passphrase is not None:
            output = encrypt(output, target.passphrase)
        try:
            return await target.target.put(key, output)
        except ExecFailed as exc:
            raise StepFailed("dump", f"{' '.join(dump.argv[:1])} failed: {exc}") from exc
        except (ContainerError, EngineUnavailable) as exc:
            raise StepFailed("dump", str(exc)) from exc
        except BackupTargetError as exc:
            raise StepFailed("store", f"{target.target.description}: {exc.cause}") from exc

    async def _read_back(
        self, request: BackupRequested, target: OpenedTarget, key: str, size: int, sha256: str
    ) -> None:
        digest = Digest()
        with _step("read_back"):
            async for chunk in target.target.get(key):
                digest.update(chunk)
        read = digest.stored(key)
        if (read.size, read.sha256) != (size, sha256):
            await _forget(target, key)
            raise StepFailed(
                "read_back",
                f"the stored object is not what was written: {read.size} bytes, sha256"
                f" {read.sha256}; written {size} bytes, sha256 {sha256}",
            )
        await self.record(
            request, BackupReadBack(backup_id=request.backup_id, size=size, sha256=sha256)
        )

    async def _verify(
        self,
        runtime: ContainerRuntime,
        request: BackupRequested,
        database: DatabaseState,
        target: OpenedTarget,
        key: str,
        counts: dict[str, int],
    ) -> None:
        started = self.clock.monotonic()
        copy = ThrowawayCopy(
            runtime, database, self.keeper, self.clock, f"verify-{request.backup_id}"
        )
        try:
            with _step("restore"):
                await copy.restore(
                    plain(target, key), image=request.image, timeout_s=self.verify_timeout_s
                )
            with _step("check"):
                restored = await copy.check()
        finally:
            await copy.remove()
        if restored != counts:
            raise StepFailed(
                "check",
                f"the restored copy answers {describe(restored)}; the source answered"
                f" {describe(counts)} at dump time",
            )
        seconds = round(self.clock.monotonic() - started, 3)
        await self.record(
            request, BackupVerified(backup_id=request.backup_id, counts=restored, seconds=seconds)
        )

    async def record(self, request: BackupRequested, event: Event) -> None:
        await self.store.append(
            backups.backup_stream(request.backup_id),
            None,
            [event],
            EventMeta(
                actor=ACTOR, source="system", team=request.team, resource=request.database_id
            ),
        )


def plain(target: OpenedTarget, key: str) -> AsyncIterator[bytes]:
    """The stored object as it was dumped (decrypted on the way, when it was encrypted)."""
    stored = target.target.get(key)
    return stored if target.passphrase is None else decrypt(stored, target.passphrase)


def describe(counts: dict[str, int]) -> str:
    shown = ", ".join(f"{name}={n}" for name, n in sorted(counts.items())[:20])
    more = len(counts) - 20
    return "{" + shown + (f", and {more} more" if more > 0 else "") + "}"


async def _forget(target: OpenedTarget, key: str) -> None:
    try:
        await target.target.delete(key)
    except BackupTargetError as exc:
        log.warning("could not delete %s from %s: %s", key, target.target.description, exc)


def _step(step: BackupStep) -> during[BackupStep]:
    return during(step, _FAILURES)
