"""The database keeper reacts to the log: it makes each database's network, volume and
container, starts, stops and restarts them as asked, sets a rotated password on the server,
and removes a deleted database's container (and its volume, when asked). Each outcome is an
event on the database's stream; the work for one database is done one thing at a time.

On start, `reconcile` brings the engine back to what the log says: a database that should run
and does not is started (a host reboot, a container removed by hand)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    EngineUnavailable,
)
from rivetr.adapters.runtime.execution import ExecFailed
from rivetr.adapters.secrets import SecretBox, SecretError
from rivetr.domain import databases
from rivetr.domain.aggregates import DATABASES
from rivetr.domain.database_events import (
    DatabaseActionRequested,
    DatabaseCreated,
    DatabaseDeleted,
    DatabaseFailed,
    DatabasePasswordRotated,
    DatabasePasswordRotationRequested,
    DatabaseRunning,
    DatabaseSettingsChanged,
    DatabaseStep,
    DatabaseStopped,
)
from rivetr.domain.databases import DatabaseState
from rivetr.domain.event_base import Event
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.handler import folded
from rivetr.service.reactors.database_containers import (
    NotHealthy,
    container_name,
    credentials,
    kind_of,
    network_name,
    spec,
    volume_name,
    wait_healthy,
)
from rivetr.service.reactors.overlay import join_overlay

log = logging.getLogger(__name__)

ACTOR = "system:databases"
_STOP_TIMEOUT_S = 30.0  # a database flushes to disk on SIGTERM: give it time
_TRIGGERS = (
    DatabaseCreated,
    DatabaseActionRequested,
    DatabaseSettingsChanged,
    DatabasePasswordRotationRequested,
    DatabaseDeleted,
)


class DatabaseKeeper:
    def __init__(
        self,
        store: EventStore,
        read: ReadModel,
        runtime: Callable[[], ContainerRuntime | None],
        secrets: SecretBox,
        clock: Clock,
        *,
        images: Mapping[str, str] | None = None,
        health_timeout_s: float = 180.0,
    ) -> None:
        self.store = store
        self.read = read
        self.runtime = runtime
        self.secrets = secrets
        self.clock = clock
        self.images = dict(images or {})
        self.health_timeout_s = health_timeout_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, after: int) -> None:
        """Follow the log from `after`; what was asked before it is `reconcile`'s."""
        try:
            async for recorded in self.store.subscribe(after):
                event = recorded.event
                if isinstance(event, _TRIGGERS):
                    self._spawn(self._react(event))
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def lock(self, database_id: str) -> asyncio.Lock:
        """One thing at a time per database (a backup's throwaway copy excepted)."""
        return self._locks.setdefault(database_id, asyncio.Lock())

    async def state(self, database_id: str) -> DatabaseState:
        return await folded(self.store, DATABASES.at(database_id))

    async def _react(self, event: Event) -> None:
        database_id: str = getattr(event, "database_id")  # noqa: B009 (every trigger has one)
        async with self.lock(database_id):
            state = await self.state(database_id)
            runtime = self.runtime()
            if runtime is None:
                return  # the engine is away: `reconcile` does it when it is back
            match event:
                case DatabaseDeleted():
                    await self._remove(runtime, state, drop_volume=not event.volume_kept)
                case DatabasePasswordRotationRequested():
                    await self._rotate(runtime, state)
                case DatabaseActionRequested(action="stop"):
                    await self._stop(runtime, state)
                case DatabaseSettingsChanged() if state.status != "running":
                    return  # it takes them when it is next started
                case _:
                    await self._start(runtime, state, fresh=not isinstance(event, DatabaseCreated))

    async def reconcile(self) -> None:
        """Start every database that should run and does not; stop none (a stopped container
        of one that should run is started again: the host rebooted, or someone stopped it)."""
        runtime = self.runtime()
        if runtime is None:
            return
        for view in await self.read.databases.every():
            async with self.lock(view.database_id):
                state = await self.state(view.database_id)
                if state.deleted or state.wanted != "running" or state.upgrade_id is not None:
                    continue
                info = await runtime.inspect_container(container_name(state.database_id))
                if info is not None and info.state == "running":
                    if state.status != "running":
                        await self._started(runtime, state)
                    continue
                await self._start(runtime, state, fresh=True)

    async def _start(self, runtime: ContainerRuntime, state: DatabaseState, *, fresh: bool) -> None:
        """Start the database's server (made anew when `fresh`: its settings may have changed)
        and record it running once healthy, or failed with why."""
        if state.deleted or state.wanted != "running":
            return
        name = container_name(state.database_id)
        try:
            creds = credentials(self.secrets, state)
            await runtime.create_network(
                network_name(state.team, state.project, state.environment), {MANAGED_LABEL: "true"}
            )
            await runtime.create_volume(
                volume_name(state.database_id),
                {MANAGED_LABEL: "true", "rivetr.database": state.database_id},
            )
            if fresh and await runtime.inspect_container(name) is not None:
                await runtime.stop_container(name, timeout_s=_STOP_TIMEOUT_S)
                await runtime.remove_container(name, force=True)
            await runtime.run_container(spec(state, creds, self.images))
            await join_overlay(runtime, state)
            await wait_healthy(runtime, name, self.clock, self.health_timeout_s)
        except (ContainerError, EngineUnavailable, NotHealthy, SecretError) as exc:
            await self._record(
                state,
                DatabaseFailed(database_id=state.database_id, during="start", reason=str(exc)),
            )
            return
        await self._started(runtime, state)

    async def _started(self, runtime: ContainerRuntime, state: DatabaseState) -> None:
        info = await runtime.inspect_container(container_name(state.database_id))
        host_port = None if info is None else info.host_ports.get(state.port)
        await self._record(
            state,
            DatabaseRunning(
                database_id=state.database_id,
                container=container_name(state.database_id),
                image=state.image,
                host_port=host_port,
            ),
        )

    async def _stop(self, runtime: ContainerRuntime, state: DatabaseState) -> None:
        try:
            await runtime.stop_container(
                container_name(state.database_id), timeout_s=_STOP_TIMEOUT_S
            )
        except (ContainerError, EngineUnavailable) as exc:
            await self._failed(state, "stop", exc)
            return
        await self._record(state, DatabaseStopped(database_id=state.database_id))

    async def _rotate(self, runtime: ContainerRuntime, state: DatabaseState) -> None:
        """Set the asked-for password on the server with the current one; the container is made
        anew only where the password lives in its command (Redis), so a restart keeps it."""
        if state.pending_password is None:
            return
        kind = kind_of(state)
        try:
            current = credentials(self.secrets, state)
            new = credentials(self.secrets, state, pending=True)
            command = kind.rotate_password(current, new.password)
            result = await runtime.exec_input(
                container_name(state.database_id),
                list(command.argv),
                _once(command.stdin),  # the new password travels here, never in argv
                env=dict(command.env),
            )
            if result.exit_code != 0:
                raise ExecFailed(result.exit_code, result.stderr_tail)
        except (ContainerError, EngineUnavailable, ExecFailed, SecretError, TimeoutError) as exc:
            await self._failed(state, "rotate_password", exc)
            return
        await self._record(state, DatabasePasswordRotated(database_id=state.database_id))
        if kind.password_read_at_start:
            await self._start(runtime, await self.state(state.database_id), fresh=True)

    async def _remove(
        self, runtime: ContainerRuntime, state: DatabaseState, *, drop_volume: bool
    ) -> None:
        name = container_name(state.database_id)
        try:
            if await runtime.inspect_container(name) is not None:
                await runtime.stop_container(name, timeout_s=_STOP_TIMEOUT_S)
                await runtime.remove_container(name, force=True)
            if drop_volume:
                await runtime.remove_volume(volume_name(state.database_id))
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not remove database %s: %s", state.name, exc)

    async def _failed(self, state: DatabaseState, during: DatabaseStep, exc: Exception) -> None:
        await self._record(
            state,
            DatabaseFailed(
                database_id=state.database_id, during=during, reason=str(exc) or type(exc).__name__
            ),
        )

    async def _record(self, state: DatabaseState, event: Event) -> None:
        await self.store.append(
            databases.stream_id(state.database_id),
            None,
            [event],
            EventMeta(actor=ACTOR, source="system", team=state.team, resource=state.database_id),
        )


async def _once(data: bytes) -> AsyncIterator[bytes]:
    if data:
        yield data
