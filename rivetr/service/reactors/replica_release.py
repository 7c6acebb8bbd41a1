"""A release of an app on servers: the pipeline's start, health and switch steps when the app
runs several copies (or is placed by labels). Its image is pushed where every server pulls it,
one swarm service runs the release beside the old one's, each copy is probed at its server's
address and its own published port, and the proxy's route becomes the balanced set of those
copies only once every one answers its check. Any failure before that leaves the old release
serving; the pipeline removes the new service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from rivetr.adapters.clock import Clock
from rivetr.adapters.health.base import HealthProber, ProbeResult
from rivetr.adapters.logs import DeploymentLog
from rivetr.adapters.runtime.base import MANAGED_LABEL, ContainerError, ContainerRuntime
from rivetr.adapters.swarm.base import (
    NodeInfo,
    Push,
    RegistryLogin,
    ServiceSpec,
    SwarmEngine,
    TaskInfo,
)
from rivetr.domain.application import AppState
from rivetr.domain.events import DeploymentHealthy, Event, HealthProbed
from rivetr.domain.health import health_failure
from rivetr.domain.replica_events import (
    ImagePushed,
    Member,
    ServiceStarted,
    TaskRunning,
    TrafficBalanced,
)
from rivetr.projections.deployments import ReleaseView
from rivetr.projections.registry import ReadModel
from rivetr.service.reactors.overlay import connect_environment, overlay_name
from rivetr.service.reactors.probe_log import ProbeLog

POLL_S = 0.5  # how often the engine is asked about the copies while they start
FAILED_STATES = frozenset({"failed", "rejected"})
NO_NODE = "no suitable node"


class Run(Protocol):
    """The pipeline run this release is a step of (`pipeline._Run`)."""

    id: str
    app: AppState
    log: DeploymentLog
    step: str  # where a failure is said to have happened
    service: str | None  # set once the service exists: the run removes it if it fails
    network: str | None  # its environment's, when that holds databases
    runtime: ContainerRuntime | None  # the manager's engine, where the databases run

    @property
    def release_name(self) -> str: ...

    async def record(self, event: Event) -> None: ...

    async def roll_back(self, previous: ReleaseView | None, reason: str) -> None: ...

    async def went_live(self, previous: ReleaseView | None) -> None: ...


class ReplicaFailed(Exception):
    """A step of the release failed; the message says which copy, where, and why."""


def constraints_of(labels: dict[str, str]) -> list[str]:
    return [f"node.labels.{key}=={value}" for key, value in sorted(labels.items())]


class ReplicaRelease:
    def __init__(
        self,
        run: Run,
        swarm: SwarmEngine,
        *,
        registry: RegistryLogin | None,
        labels: dict[str, str],
        clock: Clock,
        prober: HealthProber,
        read: ReadModel,
        push: Push | None = None,
        built_on: str | None = None,
    ) -> None:
        """`push`: how the image is pushed when it was built elsewhere (on the build node at
        `built_on`); the manager's engine pushes otherwise."""
        self.run = run
        self.swarm = swarm
        self.registry = registry
        self.labels = labels
        self.app = run.app
        self.scale = run.app.scale
        self.id = run.id
        self.clock = clock
        self.prober = prober
        self.read = read
        self.push = push or swarm.push_image
        self.built_on = built_on
        self._seen: set[str] = set()  # tasks recorded running
        self._pending_no_node = 0

    async def deploy(self, image: str) -> None:
        await self.roll_out(await self.push_image(image))

    async def push_image(self, image: str) -> str:
        """The image every server pulls (pushed to the registry, by digest)."""
        return await self._push(image)

    async def roll_out(self, pulled: str) -> None:
        """Start the copies of `pulled`, check them and switch traffic to them."""
        await self._start(pulled)
        members = await self._running()
        await self._check_health(members)
        await self._switch(members)

    # -- push ------------------------------------------------------------------------------

    async def _push(self, image: str) -> str:
        """The image every server pulls: pushed to the registry by digest, or, without one,
        the manager's own (only a swarm of one server can run it)."""
        self.run.step = "push"
        if self.registry is None and self.built_on is not None:
            raise ReplicaFailed(
                f"the image was built on the build node at {self.built_on}, which no server"
                " pulls from: set a registry every server reaches (`rivetr servers registry"
                " ADDRESS`, `--run`, or the swarm_registry setting)"
            )
        if self.registry is None:
            others = await self._other_servers()
            if others:
                raise ReplicaFailed(
                    f"the app runs on servers and {', '.join(others)} cannot pull an image"
                    " built here: set a registry every server reaches (`rivetr servers registry"
                    " ADDRESS`, or the swarm_registry setting)"
                )
            return image
        started = self.clock.monotonic()
        repository = f"{self.registry.address}/rivetr/{self.app.name}"
        try:
            pulled = await self.push(image, repository, self.id, self.registry)
        except ContainerError as exc:
            raise ReplicaFailed(f"the registry refused the image: {exc}") from None
        self.run.log.write("rivetr", f"pushed {pulled}")
        await self.run.record(
            ImagePushed(deployment_id=self.id, image=pulled, duration_ms=self._ms(started))
        )
        return pulled

    async def _other_servers(self) -> list[str]:
        me = await self.swarm.swarm()
        return sorted(
            node.hostname
            for node in await self.swarm.nodes()
            if me is None or node.node_id != me.node_id
        )

    # -- start -----------------------------------------------------------------------------

    async def _start(self, image: str) -> None:
        self.run.step = "start"
        started = self.clock.monotonic()
        placement = self.scale.placement
        networks = await self._overlay()
        spec = ServiceSpec(
            name=self.run.release_name,
            image=image,
            replicas=self.scale.replicas,
            port=self.app.port,
            labels=self.labels,
            env=dict(self.app.env),
            constraints=constraints_of(placement.constraints),
            spread=[f"node.labels.{placement.spread}"] if placement.spread else [],
            memory_bytes=self.app.resources.memory_mb * 1024 * 1024,
            nano_cpus=round(self.app.resources.cpus * 1_000_000_000),
            registry_auth=self.registry if self.registry and self.registry.signs_in else None,
            networks=networks,
            aliases=[self.app.name] if networks else [],  # as a single release's
        )
        service_id = await self.swarm.create_service(spec)
        self.run.service = spec.name
        copies = "copy" if spec.replicas == 1 else "copies"
        self.run.log.write(
            "rivetr", f"started {spec.replicas} {copies} as {spec.name}: {placement.described()}"
        )
        await self.run.record(
            ServiceStarted(
                deployment_id=self.id,
                service_id=service_id,
                service_name=spec.name,
                image=image,
                replicas=spec.replicas,
                duration_ms=self._ms(started),
            )
        )

    async def _overlay(self) -> list[str]:
        """The environment's overlay, made on the swarm with its databases on it, when the app
        reaches databases: its copies on any server reach them there by name."""
        if self.run.network is None or self.run.runtime is None:
            return []
        overlay = overlay_name(self.run.network)
        try:
            await self.swarm.create_network(overlay, {MANAGED_LABEL: "true"})
            joined = await connect_environment(self.run.runtime, self.read, self.app, overlay)
        except ContainerError as exc:
            raise ReplicaFailed(f"the network {overlay} could not be made: {exc}") from None
        if joined:
            self.run.log.write("rivetr", f"databases {', '.join(joined)} on {overlay}")
        return [overlay]

    async def _running(self) -> list[Member]:
        """Wait until every copy runs with its port published, each recorded as it comes;
        a copy the engine could not start (an image it cannot pull, a command that exits),
        or one no server may take, fails the step in the engine's words."""
        deadline = self.clock.monotonic() + self.app.health.boot_deadline_s
        nodes = await self._nodes()
        while True:
            tasks = await self.swarm.tasks(self.run.release_name)
            running = [t for t in tasks if t.running and t.published_port is not None]
            for task in running:
                if task.task_id not in self._seen:
                    nodes = nodes if task.node_id in nodes else await self._nodes()
                    await self._record_running(task, nodes)
            if len(running) >= self.scale.replicas:
                return [self._member(task, nodes) for task in running[: self.scale.replicas]]
            self._refuse_failures(tasks, nodes)
            if self.clock.monotonic() >= deadline:
                raise ReplicaFailed(
                    f"{len(running)} of {self.scale.replicas} copies running within"
                    f" {self.app.health.boot_deadline_s:g} s{waiting_on(tasks, nodes)}"
                )
            await self.clock.sleep(POLL_S)

    async def _nodes(self) -> dict[str, NodeInfo]:
        return {node.node_id: node for node in await self.swarm.nodes()}

    async def _record_running(self, task: TaskInfo, nodes: dict[str, NodeInfo]) -> None:
        self._seen.add(task.task_id)
        member = self._member(task, nodes)
        self.run.log.write(
            "rivetr", f"copy {task.slot} runs on {member.node} at {member.address}:{member.port}"
        )
        await self.run.record(TaskRunning(deployment_id=self.id, slot=task.slot, member=member))

    def _refuse_failures(self, tasks: list[TaskInfo], nodes: dict[str, NodeInfo]) -> None:
        for task in tasks:
            if task.state in FAILED_STATES:
                where = node_name(task, nodes)
                raise ReplicaFailed(
                    f"copy {task.slot} on {where} {task.state}: {task.message or 'no reason given'}"
                )
        # placement is decided at once: a copy no server may take twice in a row stays so
        unplaced = [t for t in tasks if t.state == "pending" and NO_NODE in t.message]
        self._pending_no_node = self._pending_no_node + 1 if unplaced else 0
        if self._pending_no_node >= 2:
            raise ReplicaFailed(
                f"copy {unplaced[0].slot} has no server to run on"
                f" ({self.scale.placement.described()}): {unplaced[0].message}"
            )

    @staticmethod
    def _member(task: TaskInfo, nodes: dict[str, NodeInfo]) -> Member:
        assert task.published_port is not None
        return Member(
            task_id=task.task_id,
            node=node_name(task, nodes),
            address=task.address,
            port=task.published_port,
        )

    # -- health ----------------------------------------------------------------------------

    async def _check_health(self, members: list[Member]) -> None:
        """Every copy probed at once, each as a single release's container is; the first
        that fails its check fails the step, naming it."""
        self.run.step = "health"
        started = self.clock.monotonic()
        check = self.app.health
        attempts = 0
        lock = asyncio.Lock()  # the log's steps in order, one probe at a time

        def recorder(member: Member, told: ProbeLog) -> Callable[[ProbeResult], Awaitable[None]]:
            async def on_probe(result: ProbeResult) -> None:
                nonlocal attempts
                async with lock:
                    attempts += 1
                    told.probe(result)
                    await self.run.record(
                        HealthProbed(
                            deployment_id=self.id,
                            attempt=attempts,
                            ok=result.ok,
                            status=result.status,
                            error=result.error,
                            duration_ms=result.duration_ms,
                            url=result.url,
                        )
                    )

            return on_probe

        async def one(member: Member) -> str | None:
            told = ProbeLog(lambda line: self.run.log.write(f"health {member.node}", line), check)
            try:
                healthy, _ = await self.prober.wait_until_healthy(
                    member.port, check, on_probe=recorder(member, told), host=member.address
                )
            finally:
                told.end()
            if healthy:
                return None
            reason = health_failure(check, self.app.port, told.last(exited=False), None)
            return f"the copy on {member.node} ({member.address}:{member.port}): {reason}"

        failures = [f for f in await asyncio.gather(*(one(m) for m in members)) if f]
        if failures:
            raise ReplicaFailed("; ".join(failures))
        await self.run.record(
            DeploymentHealthy(deployment_id=self.id, probes=attempts, duration_ms=self._ms(started))
        )

    # -- switch ----------------------------------------------------------------------------

    async def _switch(self, members: list[Member]) -> None:
        run = self.run
        run.step = "switch"
        previous = await self.read.deployments.release(self.app.app_id)
        await run.record(
            TrafficBalanced(
                deployment_id=self.id,
                app=self.app.name,
                members=members,
                balance=self.scale.balance,
                previous_deployment_id=previous.deployment_id if previous else None,
            )
        )
        shown = ", ".join(f"{m.address}:{m.port}" for m in members)
        run.log.write("rivetr", f"live on {shown} ({self.scale.balance.replace('_', ' ')})")
        for member in members:
            ok, _, error = await self.prober.probe(
                member.port, self.app.health, host=member.address
            )
            if not ok:
                await run.roll_back(
                    previous,
                    f"the copy on {member.node} failed its check right after the switch: {error}",
                )
                return
        await run.went_live(previous)

    def _ms(self, started: float) -> float:
        return round((self.clock.monotonic() - started) * 1000, 1)


def node_name(task: TaskInfo, nodes: dict[str, NodeInfo]) -> str:
    node = nodes.get(task.node_id)
    return node.hostname if node is not None else (task.node_id[:12] or "no server")


def waiting_on(tasks: list[TaskInfo], nodes: dict[str, NodeInfo]) -> str:
    """What the copies not running are waiting on, in the engine's words."""
    said = sorted(
        {
            f"copy {t.slot} {t.state} on {node_name(t, nodes)}: {t.message}"
            for t in tasks
            if t.desired == "running" and not t.running and t.message
        }
    )
    return f": {'; '.join(said)}" if said else ""
