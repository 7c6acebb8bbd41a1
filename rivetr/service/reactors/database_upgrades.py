"""The upgrader reacts to `database.upgrade_requested`: it waits for the backup asked for with
the upgrade to be verified (if that fails, the upgrade fails and the server is not touched),
then, one thing at a time with the keeper, stops the server, copies its volume to a snapshot
volume, starts the new image on the volume and waits for it to be healthy. A new image that
does not come up is removed, the volume is put back from the snapshot and the old image is
started again. The snapshot is removed once the outcome is recorded, unless even the rollback
failed: then it is what holds the data as it was, and the failure's reason names it.

An upgrade a previous run left unfinished is rolled back at start, from what the engine shows:
a container of the new image (or none) means the snapshot is whole and the volume may have
been touched; the old container means the volume was not."""

from __future__ import annotations

import logging

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    EngineUnavailable,
)
from rivetr.adapters.secrets import SecretError
from rivetr.domain import databases
from rivetr.domain.database_events import (
    DatabaseUpgraded,
    DatabaseUpgradeFailed,
    DatabaseUpgradeRequested,
)
from rivetr.domain.databases import DatabaseState
from rivetr.domain.event_base import Event
from rivetr.service.reactors.backup_worker import BackupWorker
from rivetr.service.reactors.database_containers import (
    DATABASE_LABEL,
    NotHealthy,
    container_name,
    credentials,
    image_of,
    spec,
    volume_name,
    wait_healthy,
)
from rivetr.service.reactors.overlay import join_overlay

log = logging.getLogger(__name__)

ACTOR = "system:databases"
UPGRADE_LABEL = "rivetr.upgrade"  # on the new image's container: the snapshot is whole
SNAPSHOT_LABEL = "rivetr.upgrade_snapshot"
_BACKUP_POLL_S = 1.0
_STOP_TIMEOUT_S = 30.0
_ERRORS = (ContainerError, EngineUnavailable, NotHealthy, SecretError)


def snapshot_name(database_id: str, upgrade_id: str) -> str:
    return f"rivetr-db-{database_id}-before-{upgrade_id}"


class DatabaseUpgrader:
    def __init__(self, backups: BackupWorker) -> None:
        self.backups = backups
        self.keeper = backups.keeper
        self.store = backups.store
        self.clock = backups.clock
        self._interrupted: list[str] = []

    async def upgrade(self, database_id: str) -> None:
        """Carry out the database's upgrade under way, if it still is (a repeat does nothing)."""
        state, request = await self._under_way(database_id)
        if request is None:
            return
        failure = await self._backed_up(request.backup_id)
        if failure is not None:
            await self._failed(
                state,
                request,
                f"the backup taken first failed: {failure}; the database was not touched",
            )
            return
        runtime = self.backups.runtime()
        if runtime is None:
            why = "the container engine is not reachable; the database was not touched"
            await self._failed(state, request, why)
            return
        async with self.keeper.lock(database_id):
            state, still = await self._under_way(database_id)
            if still is not None and still.upgrade_id == request.upgrade_id:
                await self._move(runtime, state, request)

    async def _under_way(
        self, database_id: str
    ) -> tuple[DatabaseState, DatabaseUpgradeRequested | None]:
        history = [e.event for e in await self.store.read_stream(databases.stream_id(database_id))]
        state = databases.fold(database_id, history)
        asked = [
            e
            for e in history
            if isinstance(e, DatabaseUpgradeRequested) and e.upgrade_id == state.upgrade_id
        ]
        if state.deleted or not asked:
            return state, None
        return state, asked[-1]

    async def _backed_up(self, backup_id: str) -> str | None:
        """Wait for the backup to be verified; why it was not, if it failed."""
        while True:
            backup = await self.backups.state(backup_id)
            if backup.request is None:
                return f"no backup {backup_id!r} was asked for"
            if backup.deleted:
                return "it was deleted"
            if backup.status == "verified":
                return None
            if backup.status == "failed":
                return backup.failure or "failed"
            await self.clock.sleep(_BACKUP_POLL_S)

    async def _move(
        self, runtime: ContainerRuntime, state: DatabaseState, request: DatabaseUpgradeRequested
    ) -> None:
        name = container_name(state.database_id)
        snapshot = snapshot_name(state.database_id, request.upgrade_id)
        try:
            creds = credentials(self.keeper.secrets, state)
            await runtime.stop_container(name, timeout_s=_STOP_TIMEOUT_S)
            await runtime.create_volume(snapshot, _snapshot_labels(state, request))
            await runtime.copy_volume(
                volume_name(state.database_id), snapshot, image_of(state, self.keeper.images)
            )
        except _ERRORS as exc:
            why = f"the volume could not be copied first: {_said(exc)}"
            await self._roll_back(runtime, state, request, why, from_snapshot=False)
            return
        try:
            await runtime.remove_container(name, force=True)
            labels = {UPGRADE_LABEL: request.upgrade_id}
            new = spec(state, creds, self.keeper.images, image=request.image, labels=labels)
            await runtime.run_container(new)
            await join_overlay(runtime, state)
            await wait_healthy(runtime, name, self.clock, self.keeper.health_timeout_s)
        except _ERRORS as exc:
            why = f"{request.image} did not come up: {_said(exc)}"
            await self._roll_back(runtime, state, request, why, from_snapshot=True)
            return
        # recorded before the snapshot goes: a restart in between must not roll back
        await self._record(
            state,
            DatabaseUpgraded(
                database_id=state.database_id,
                upgrade_id=request.upgrade_id,
                version=request.version,
                image=request.image,
            ),
        )
        await _drop(runtime, snapshot)

    async def _roll_back(
        self,
        runtime: ContainerRuntime,
        state: DatabaseState,
        request: DatabaseUpgradeRequested,
        why: str,
        *,
        from_snapshot: bool,
    ) -> None:
        """Run the old image again: on the snapshot's data (`from_snapshot`: the new image may
        have changed the volume), or on the volume as it is (it was not touched)."""
        name = container_name(state.database_id)
        volume = volume_name(state.database_id)
        snapshot = snapshot_name(state.database_id, request.upgrade_id)
        try:
            if await runtime.inspect_container(name) is not None:
                await runtime.remove_container(name, force=True)
            if from_snapshot:
                if not await runtime.volume_exists(snapshot):
                    raise ContainerError(f"the snapshot volume {snapshot} is gone")
                await runtime.remove_volume(volume)
                await runtime.create_volume(
                    volume, {MANAGED_LABEL: "true", DATABASE_LABEL: state.database_id}
                )
                await runtime.copy_volume(snapshot, volume, image_of(state, self.keeper.images))
            creds = credentials(self.keeper.secrets, state)
            await runtime.run_container(spec(state, creds, self.keeper.images))
            await join_overlay(runtime, state)
            await wait_healthy(runtime, name, self.clock, self.keeper.health_timeout_s)
        except _ERRORS as exc:
            kept = f"; the volume {snapshot} holds the data as it was" if from_snapshot else ""
            reason = f"{why}; going back to {state.image} failed too: {_said(exc)}{kept}"
            await self._failed(state, request, reason, rolled_back=False)
            if not from_snapshot:
                await _drop(runtime, snapshot)  # the volume was not touched: it is of no use
            return
        await self._failed(state, request, f"{why}; {state.image} runs again on the old data")
        await _drop(runtime, snapshot)

    def note_interrupted(self, database_ids: list[str]) -> None:
        """Remember the upgrades a previous run left under way (called before anything follows
        the log, so none of them is one asked for since)."""
        self._interrupted = list(database_ids)

    async def roll_back_interrupted(self) -> None:
        """Roll back each upgrade a previous run left under way, once the engine is back."""
        runtime = self.backups.runtime()
        if runtime is None:
            return
        for database_id in self._interrupted:
            async with self.keeper.lock(database_id):
                state, request = await self._under_way(database_id)
                if request is None:
                    continue
                snapshot = snapshot_name(database_id, request.upgrade_id)
                try:
                    info = await runtime.inspect_container(container_name(database_id))
                    begun = await runtime.volume_exists(snapshot)
                except (ContainerError, EngineUnavailable) as exc:
                    log.warning("could not look at database %s's upgrade: %s", state.name, exc)
                    continue
                why = "Rivetr stopped before the upgrade was finished"
                if not begun and info is not None and info.state == "running":
                    await self._failed(state, request, f"{why}; the database was not touched")
                    continue  # it stopped while the backup was being taken
                whole = info is None or info.labels.get(UPGRADE_LABEL) == request.upgrade_id
                await self._roll_back(runtime, state, request, why, from_snapshot=whole and begun)
        self._interrupted = []

    async def _failed(
        self,
        state: DatabaseState,
        request: DatabaseUpgradeRequested,
        reason: str,
        *,
        rolled_back: bool = True,
    ) -> None:
        await self._record(
            state,
            DatabaseUpgradeFailed(
                database_id=state.database_id,
                upgrade_id=request.upgrade_id,
                reason=reason,
                rolled_back=rolled_back,
            ),
        )

    async def _record(self, state: DatabaseState, event: Event) -> None:
        await self.store.append(
            databases.stream_id(state.database_id),
            None,
            [event],
            EventMeta(actor=ACTOR, source="system", team=state.team, resource=state.database_id),
        )


def _snapshot_labels(state: DatabaseState, request: DatabaseUpgradeRequested) -> dict[str, str]:
    return {
        MANAGED_LABEL: "true",
        DATABASE_LABEL: state.database_id,
        SNAPSHOT_LABEL: request.upgrade_id,
    }


def _said(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


async def _drop(runtime: ContainerRuntime, snapshot: str) -> None:
    try:
        await runtime.remove_volume(snapshot)
    except (ContainerError, EngineUnavailable) as exc:
        log.warning("could not remove the upgrade snapshot %s: %s", snapshot, exc)
