"""The stack deployer reacts to the log: a release request runs it (a newer one for the same
stack stops the one in flight), a release that goes live supersedes the previous one, whose
containers (and swarm services, for its services on servers) are drained and removed on a
deadline it tracks; a deleted stack keeps nothing running (its volumes stay: its data). At
start, a release a restart interrupted is failed and its new containers and services removed,
so the previous release serves as it did."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Coroutine
from typing import Any

from rivetr.adapters.logs import stack_folder
from rivetr.adapters.runtime.base import MANAGED_LABEL, ContainerError, EngineUnavailable
from rivetr.adapters.swarm.base import SwarmEngine
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.stack_events import (
    StackDeleted,
    StackReleaseFailed,
    StackReleaseRequested,
    StackReleaseRetired,
    StackReleaseSuperseded,
)
from rivetr.domain.stack_releases import IN_FLIGHT
from rivetr.projections.registry import ReadModel
from rivetr.service.reactors.stack_ports import StackPorts, stack_of
from rivetr.service.reactors.stack_release_run import StackReleaseRun
from rivetr.service.reactors.stack_specs import RELEASE_LABEL, STACK_LABEL

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
NETWORK_TRIES, NETWORK_WAIT_S = 30, 1.0  # a swarm's tasks take a few seconds to let go


class StackDeployer:
    def __init__(self, ports: StackPorts, read: ReadModel, *, drain_s: float) -> None:
        self.ports = ports
        self.read = read
        self.drain_s = drain_s
        self._running: dict[str, tuple[str, asyncio.Task[None]]] = {}  # stack -> release
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, after: int) -> None:
        """Follow the log from `after`; what was in flight before it is `recover`'s."""
        try:
            async for recorded in self.ports.store.subscribe(after):
                event = recorded.event
                if isinstance(event, StackReleaseRequested):
                    await self._start(event)
                elif isinstance(event, StackDeleted):
                    await self._deleted(event.stack_id)
        finally:
            tasks = [task for _, task in self._running.values()] + list(self._background)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def recover(self) -> None:
        """Releases a restart interrupted: failed, their new containers removed."""
        for stack in await self.read.stacks.every():
            for release in await self.read.stacks.releases_of(stack.stack_id, limit=5):
                if release.status in IN_FLIGHT:
                    await self._interrupted(stack.stack_id, release.release_id)

    async def sweep(self) -> None:
        """Once the engine answers: remove the stack containers whose release is over and
        that no release serving now runs (a restart's leftovers, a failed release's)."""
        runtime = self.ports.runtime()
        if runtime is None:
            return
        serving: set[str] = set()
        for stack in await self.read.stacks.every():
            if stack.live_release_id is not None:
                serving |= set((await self._containers(stack.live_release_id)).values())
        for container in await runtime.list_containers({MANAGED_LABEL: "true"}):
            if await self._over(container.labels, container.name, serving):
                await self._remove([container.name])
        here = await self.ports.swarm_here()
        if here is None:
            return
        swarm, left = here[0], []
        try:
            for name in await swarm.services({MANAGED_LABEL: "true"}):
                if await self._over(await swarm.service_labels(name) or {}, name, serving):
                    left.append(name)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not look for the swarm services of stack releases: %s", exc)
        await self._remove_services(swarm, left)

    async def _over(self, labels: dict[str, str], name: str, serving: set[str]) -> bool:
        """Whether a stack release's container or service is a leftover: its release over
        and no release serving now runs it."""
        release_id = labels.get(RELEASE_LABEL)
        if release_id is None or name in serving:
            return False
        release = await self.read.stacks.release(release_id)  # read now: it may have begun
        # superseded: its drain was cut short by a restart (what the live one kept is serving)
        return release is not None and release.status in ("failed", "retired", "superseded")

    async def lost(self) -> list[tuple[str, str | None]]:
        """The stacks whose live release has not one container left in the engine (restored
        onto a new machine, or the engine wiped), each with the commit that release ran (None:
        an inline compose file): what must be deployed again to be what the log says."""
        runtime = self.ports.runtime()
        if runtime is None:
            return []
        present = {c.name for c in await runtime.list_containers({MANAGED_LABEL: "true"})}
        here = await self.ports.swarm_here()
        if here is not None:
            with contextlib.suppress(ContainerError, EngineUnavailable):
                present |= set(await here[0].services({MANAGED_LABEL: "true"}))
        found = []
        for stack in await self.read.stacks.every():
            if stack.live_release_id is None:
                continue
            containers = set((await self._containers(stack.live_release_id)).values())
            if containers and not containers & present:
                release = await self.read.stacks.release(stack.live_release_id)
                found.append((stack.stack_id, release.commit_sha if release else None))
        return found

    async def _interrupted(self, stack_id: str, release_id: str) -> None:
        state = await self.ports.recorder.state(release_id)
        with contextlib.suppress(IllegalTransition):
            await self.ports.recorder.record(
                release_id,
                StackReleaseFailed(
                    release_id=release_id,
                    step="start" if state.status == "starting" else "source",
                    reason="Rivetr stopped while this release ran; deploy again",
                ),
            )

    async def _start(self, request: StackReleaseRequested) -> None:
        current = self._running.get(request.stack_id)
        if current is not None and not current[1].done():
            older, task = current
            task.cancel()
            await asyncio.wait([task], timeout=60)
            with contextlib.suppress(IllegalTransition):
                await self.ports.recorder.record(
                    older,
                    StackReleaseFailed(
                        release_id=older,
                        step="source",
                        reason=f"stopped: release {request.release_id} was asked for",
                    ),
                )
        task = asyncio.create_task(
            self._deploy(request.release_id), name=f"stack-{request.release_id}"
        )
        self._running[request.stack_id] = (request.release_id, task)

    async def _deploy(self, release_id: str) -> None:
        state = await self.ports.recorder.state(release_id)
        if state.status != "requested":
            return  # handled already
        stack = await stack_of(self.ports.store, state.stack_id)
        view = await self.read.stacks.one(state.stack_id)
        live = view.live_release_id if view else None
        previous = await self._running_in(live) if live else {}
        on_servers = await self._on_servers(live) if live else set()
        logs = self.ports.logs.open(stack_folder(stack.stack_id), release_id)
        try:
            run = StackReleaseRun(self.ports, state, stack, logs, self.read)
            went_live = await run.execute(previous)
        finally:
            logs.close()
        if went_live and live is not None:
            with contextlib.suppress(IllegalTransition):
                await self.ports.recorder.record(
                    live, StackReleaseSuperseded(release_id=live, by=release_id)
                )
            # from its own stream, not the read model, which may not have its steps yet
            now = await self.ports.recorder.state(release_id)
            kept = {run.container for run in now.services.values() if run.container}
            self.spawn(self._drain(state.stack_id, live, previous, kept, on_servers))

    async def _running_in(self, release_id: str) -> dict[str, str]:
        """Each service's container in the release, from its own stream (the read model may
        not have its last steps yet)."""
        state = await self.ports.recorder.state(release_id)
        return {name: run.container for name, run in state.services.items() if run.container}

    async def _on_servers(self, release_id: str) -> set[str]:
        """The swarm services of a release's services on servers, from its own stream."""
        state = await self.ports.recorder.state(release_id)
        return {
            run.container for run in state.services.values() if run.on_servers and run.container
        }

    async def _containers(self, release_id: str) -> dict[str, str]:
        return {
            run.service: run.container
            for run in await self.read.stacks.services_of(release_id)
            if run.container is not None
        }

    async def _drain(
        self,
        stack_id: str,
        release_id: str,
        containers: dict[str, str],
        kept: set[str],
        services: set[str],
    ) -> None:
        """After the drain, the superseded release's containers (and `services`, those of its
        services on servers) go, but those the new release kept as they were."""
        await self.ports.clock.sleep(self.drain_s)
        gone = [c for c in containers.values() if c not in kept]
        here = await self.ports.swarm_here() if services else None
        if here is not None:
            await self._remove_services(here[0], [name for name in gone if name in services])
        await self._remove([name for name in gone if name not in services])
        shutil.rmtree(self.ports.work_root / stack_id / release_id, ignore_errors=True)

    async def _remove_services(self, swarm: SwarmEngine, names: list[str]) -> None:
        for name in names:
            try:
                await swarm.remove_service(name)
            except (ContainerError, EngineUnavailable) as exc:
                log.warning("could not remove service %s: %s", name, exc)

    async def _remove(self, containers: list[str]) -> None:
        runtime = self.ports.runtime()
        if runtime is None:
            return
        for name in containers:
            try:
                await runtime.stop_container(name, timeout_s=STOP_TIMEOUT_S)
                await runtime.remove_container(name, force=True)
            except (ContainerError, EngineUnavailable) as exc:
                log.warning("could not remove container %s: %s", name, exc)

    async def _deleted(self, stack_id: str) -> None:
        """Nothing of a deleted stack keeps running; its named volumes stay (its data)."""
        current = self._running.pop(stack_id, None)
        if current is not None:
            current[1].cancel()
            await asyncio.wait([current[1]], timeout=60)
        view_releases = await self.read.stacks.releases_of(stack_id, limit=1000)
        for release in view_releases:
            if release.status in ("live", "superseded"):
                with contextlib.suppress(IllegalTransition):
                    await self.ports.recorder.record(
                        release.release_id, StackReleaseRetired(release_id=release.release_id)
                    )
        here = await self.ports.swarm_here()
        if here is not None:
            with contextlib.suppress(ContainerError, EngineUnavailable):
                await self._remove_services(
                    here[0], await here[0].services({STACK_LABEL: stack_id})
                )
        runtime = self.ports.runtime()
        if runtime is not None:
            containers = await runtime.list_containers({STACK_LABEL: stack_id})
            await self._remove([c.name for c in containers])
            # the default network and each one the compose file declared, by their label
            with contextlib.suppress(EngineUnavailable):
                left = []
                for network in await runtime.list_networks({STACK_LABEL: stack_id}):
                    try:
                        await runtime.remove_network(network)
                    except ContainerError:
                        left.append(network)
                if left and here is not None:  # an overlay stays in use while tasks stop
                    self.spawn(self._remove_networks(left))
        shutil.rmtree(self.ports.work_root / stack_id, ignore_errors=True)

    async def _remove_networks(self, networks: list[str]) -> None:
        """Try again, for a while, the networks the services' stopping tasks still held."""
        for _ in range(NETWORK_TRIES):
            await self.ports.clock.sleep(NETWORK_WAIT_S)
            runtime = self.ports.runtime()
            if runtime is None:
                continue
            for network in list(networks):
                with contextlib.suppress(ContainerError, EngineUnavailable):
                    await runtime.remove_network(network)
                    networks.remove(network)
            if not networks:
                return
        log.warning("networks %s are still in use; left", ", ".join(networks))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
