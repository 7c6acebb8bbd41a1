"""One deployment, step by step, each step an event: fetch the commit, build, start the new
container next to the old one, health-check it from outside, switch traffic, then supersede the
old release. Any failure before the switch leaves the old release untouched; a failure right
after the switch routes traffic back to it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from rivetr.adapters.builders.base import BuildPlanError, ImageBuilder
from rivetr.adapters.clock import Clock
from rivetr.adapters.health.base import EXITED, HealthProber, ProbeResult
from rivetr.adapters.logs import DeploymentLog, LogStore
from rivetr.adapters.runtime.base import (
    APP_LABEL,
    DEPLOYMENT_LABEL,
    MANAGED_LABEL,
    BuildFailed,
    ContainerError,
    ContainerRuntime,
    ContainerSpec,
    EngineUnavailable,
)
from rivetr.adapters.secrets import SecretBox, SecretError
from rivetr.adapters.source.base import SourceError, SourceFetcher
from rivetr.adapters.swarm.base import Push, RegistryLogin, RemoteEngine, SwarmEngine
from rivetr.domain.application import AppState
from rivetr.domain.deployment import DeploymentState, IllegalTransition
from rivetr.domain.events import (
    BuildStarted,
    ContainerStarted,
    DeploymentFailed,
    DeploymentHealthy,
    DeploymentSuperseded,
    Event,
    HealthProbed,
    ImageBuilt,
    RollbackStarted,
    RolledBack,
    SourceFetched,
    TrafficSwitched,
    VariablesResolved,
)
from rivetr.domain.health import health_failure, port_mismatch
from rivetr.domain.references import UnresolvedReference
from rivetr.projections.deployments import ReleaseView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.secrets import open_app
from rivetr.service.commands.variables import SharedScopes
from rivetr.service.reactors.probe_log import ProbeLog
from rivetr.service.reactors.pruning import app_label
from rivetr.service.reactors.replica_release import ReplicaFailed, ReplicaRelease
from rivetr.service.reactors.steps import StepRecorder
from rivetr.service.reactors.variables_step import prepare

log = logging.getLogger(__name__)

T = TypeVar("T")
FAILURES = (SourceError, BuildFailed, BuildPlanError, ContainerError, EngineUnavailable)


class StepFailed(Exception):
    def __init__(self, reason: str, log_tail: list[str] | None = None) -> None:
        super().__init__(reason)
        self.log_tail = log_tail or []


def container_name(app: str, deployment_id: str) -> str:
    return f"rivetr-{app}-{deployment_id}"


def release_labels(app: AppState, deployment_id: str) -> dict[str, str]:
    return {MANAGED_LABEL: "true", APP_LABEL: app_label(app), DEPLOYMENT_LABEL: deployment_id}


def release_spec(
    app: AppState, deployment_id: str, image: str, network: str | None = None
) -> ContainerSpec:
    """The container a release of `app` runs in: its port and health port published on free
    loopback ports, labelled so the reconciler and the pruner know it as Rivetr's; on its
    environment's `network` (where its databases are), reachable there by its name."""
    health_port = app.health.port or app.port
    return ContainerSpec(
        name=container_name(app.name, deployment_id),
        image=image,
        labels=release_labels(app, deployment_id),
        env=dict(app.env),
        ports={app.port: None, health_port: None},
        memory_bytes=app.resources.memory_mb * 1024 * 1024,
        nano_cpus=round(app.resources.cpus * 1_000_000_000),
        network=network,
        aliases=[app.name] if network else [],
    )


async def _replicas(step: Awaitable[T]) -> T:
    """A step of a release on servers, its failure the deployment's."""
    try:
        return await step
    except ReplicaFailed as exc:
        raise StepFailed(str(exc)) from None


class DeployPipeline:
    """The steps of a deployment, over the ports it is handed: where the code comes from
    (`source`), how it becomes an image (`builder`), the engine that runs it (`runtime`, asked
    at each run: it may come and go), how its health is judged (`prober`) and time (`clock`)."""

    def __init__(
        self,
        recorder: StepRecorder,
        read: ReadModel,
        lookup: AppLookup,
        *,
        runtime: Callable[[], ContainerRuntime | None],
        source: SourceFetcher,
        builder: ImageBuilder,
        prober: HealthProber,
        clock: Clock,
        logs: LogStore,
        secrets: SecretBox,
        work_root: Path,
        drain_s: float,
        swarm: Callable[[], SwarmEngine] | None = None,
        registry: Callable[[], Awaitable[RegistryLogin | None]] | None = None,
        build_node: Callable[[], Awaitable[RemoteEngine | None]] | None = None,
    ) -> None:
        self.recorder = recorder
        self.read = read
        self.lookup = lookup
        self.runtime = runtime
        self.source = source
        self.builder = builder
        self.prober = prober
        self.clock = clock
        self.logs = logs
        self.secrets = secrets
        self.work_root = work_root
        self.drain_s = drain_s
        self.swarm = swarm  # the servers' engine, for apps on servers (raises when there is none)
        self.registry = registry
        self.build_node = build_node  # where apps on servers are built, when not here
        self.shared = SharedScopes(recorder.store, secrets)

    async def run(self, deployment_id: str) -> DeploymentSuperseded | None:
        """Take the requested deployment through its steps; return what it recorded for the
        release it replaced, if it went live over one (that release is to be drained)."""
        state = await self.recorder.state(deployment_id)
        if state.status != "requested":
            return None  # already handled: idempotent
        app = await self.lookup.of_deployment(state)
        try:
            app = open_app(self.secrets, app)
        except SecretError as exc:
            await self.recorder.record(
                deployment_id,
                DeploymentFailed(deployment_id=deployment_id, step="source", reason=str(exc)),
            )
            return None
        run = _Run(self, state, app, self.logs.open(state.app, deployment_id))
        try:
            await run.execute()
        finally:
            run.log.close()
            shutil.rmtree(self.work_root / deployment_id, ignore_errors=True)
        return run.superseded

    def ms_since(self, started: float) -> float:
        return round((self.clock.monotonic() - started) * 1000, 1)


class _Run:
    """The state of one pipeline run: which step it is in, which container it started."""

    def __init__(
        self, pipeline: DeployPipeline, state: DeploymentState, app: AppState, log: DeploymentLog
    ) -> None:
        self.pipeline = pipeline
        self.id = state.deployment_id
        self.state = state
        self.app = app
        self.network: str | None = None  # its environment's, once its variables are ready
        self.log = log
        self.step = "start"
        self.container: str | None = None
        self.service: str | None = None  # an app on servers: the swarm service it started
        self.runtime: ContainerRuntime | None = None
        self.superseded: DeploymentSuperseded | None = None
        self.mismatch: str | None = None  # the image does not listen on the app's port

    async def record(self, event: Event) -> None:
        await self.pipeline.recorder.record(self.id, event)

    @property
    def release_name(self) -> str:
        """Its container's name, or its swarm service's."""
        return container_name(self.app.name, self.id)

    async def execute(self) -> None:
        try:
            await self._steps()
        except IllegalTransition as exc:
            # cancelled or superseded while a step ran: stop here, leave the old release alone
            self.log.write("rivetr", f"stopped: {exc}")
            await self._remove_container()
        except asyncio.CancelledError:
            self.log.write("rivetr", "stopped: cancelled")
            await asyncio.shield(self._remove_container())
            raise
        except (StepFailed, *FAILURES) as exc:
            await self._fail(str(exc), getattr(exc, "log_tail", []) or _tail(exc))
        except Exception as exc:
            log.exception("deployment %s crashed at %s", self.id, self.step)
            await self._fail(f"internal error: {type(exc).__name__}: {exc}", [])

    async def _fail(self, reason: str, log_tail: list[str]) -> None:
        self.log.write("rivetr", f"failed at {self.step}: {reason}")
        await self._remove_container()
        with contextlib.suppress(IllegalTransition):
            await self.record(
                DeploymentFailed(
                    deployment_id=self.id, step=self.step, reason=reason, log_tail=log_tail[-100:]
                )
            )

    async def _steps(self) -> None:
        await self._resolve_variables()
        self.step = "engine"
        runtime = self.pipeline.runtime()
        if runtime is None:
            raise StepFailed("the container engine is unavailable; see /api/v1/health")
        self.runtime = runtime
        if self.app.scale.on_swarm and (remote := await self._build_node()) is not None:
            await self._on_build_node(remote)
            return
        image = await self._image(runtime, "on this host")
        if self.app.scale.on_swarm:
            await self._on_servers(image)
            return
        host_port, health_port = await self._start(runtime, image)
        await self._check_health(runtime, health_port)
        await self._switch(host_port, health_port)

    async def _image(self, runtime: ContainerRuntime, where: str) -> str:
        """The release's image on `runtime`: built from its commit, or the one it names (a
        rollback's), which must still be there."""
        image = self.state.image
        if image is None:
            return await self._fetch_and_build(runtime)
        if not await runtime.image_exists(image):
            self.step = "start"
            raise StepFailed(f"image {image} is no longer {where}; deploy from source")
        await self._exposed_ports(runtime, image)
        return image

    async def _build_node(self) -> RemoteEngine | None:
        if self.pipeline.build_node is None:
            return None
        try:
            return await self.pipeline.build_node()
        except SecretError as exc:
            raise StepFailed(f"the build node's key cannot be opened: {exc}") from None

    async def _on_build_node(self, remote: RemoteEngine) -> None:
        """An app on servers whose images are built on the build node: built (or found)
        there and pushed from there, that engine open until the push is done."""
        if self.pipeline.swarm is None:
            raise StepFailed("the app runs on servers, and this Rivetr has no swarm engine")
        async with contextlib.AsyncExitStack() as stack:
            try:
                build = await stack.enter_async_context(self.pipeline.swarm().build_engine(remote))
            except (ContainerError, EngineUnavailable) as exc:
                raise StepFailed(f"the build node cannot be reached: {exc}") from None
            wanted = self.state.image
            if (
                wanted is not None
                and not await build.runtime.image_exists(wanted)
                and self.runtime is not None
                and await self.runtime.image_exists(wanted)
            ):  # a release built here before the build node was chosen: pushed from here
                image = await self._image(self.runtime, "on this host")
                release = await self._replica_release()
            else:
                self.log.write("rivetr", f"the image is built on the build node at {remote.url}")
                image = await self._image(build.runtime, f"on the build node at {remote.url}")
                release = await self._replica_release(build.push, built_on=remote.url)
            pulled = await _replicas(release.push_image(image))
        await _replicas(release.roll_out(pulled))

    async def _on_servers(self, image: str) -> None:
        """Start, check and switch to the release as copies on the servers."""
        release = await self._replica_release()
        await _replicas(release.deploy(image))

    async def _replica_release(
        self, push: Push | None = None, built_on: str | None = None
    ) -> ReplicaRelease:
        """The release as copies on the servers; `push`: how its image is pushed when it was
        built elsewhere than here (`built_on`)."""
        if self.pipeline.swarm is None:
            raise StepFailed("the app runs on servers, and this Rivetr has no swarm engine")
        pipeline = self.pipeline
        try:
            registry = None if pipeline.registry is None else await pipeline.registry()
        except SecretError as exc:
            raise StepFailed(f"the registry's password cannot be opened: {exc}") from None
        return ReplicaRelease(
            self,
            pipeline.swarm(),
            registry=registry,
            labels=self._labels(),
            clock=pipeline.clock,
            prober=pipeline.prober,
            read=pipeline.read,
            push=push,
            built_on=built_on,
        )

    async def _resolve_variables(self) -> None:
        """Make the variables ready (`variables_step.prepare`) before anything is fetched or
        built; record which shared variables were used, and from where (never a value)."""
        self.step = "variables"
        try:
            prepared = await prepare(self.pipeline.shared, self.app)
        except (UnresolvedReference, SecretError) as exc:
            raise StepFailed(str(exc)) from None
        self.app = prepared.app
        self.network = prepared.network
        for line in prepared.lines:
            self.log.write("rivetr", line)
        if prepared.referenced:
            await self.record(VariablesResolved(deployment_id=self.id, used=prepared.used))

    async def _fetch_and_build(self, runtime: ContainerRuntime) -> str:
        self.step = "source"
        started = self.pipeline.clock.monotonic()
        assert self.app.git_url is not None
        checkout = await self.pipeline.source.fetch(
            self.app.git_url,
            branch=self.state.branch,
            commit=self.state.commit,
            dest=self.pipeline.work_root / self.id / "source",
            deploy_key=self.app.deploy_key,
            token=self.app.git_token,
            on_output=self.log.writer("git"),
        )
        await self.record(
            SourceFetched(
                deployment_id=self.id,
                commit_sha=checkout.commit_sha,
                commit_message=checkout.commit_message,
                duration_ms=self.pipeline.ms_since(started),
            )
        )
        self.step = "build"
        builder = self.pipeline.builder.plan(checkout.path, self.app.build)
        await self.record(BuildStarted(deployment_id=self.id, builder=builder))
        started = self.pipeline.clock.monotonic()
        image = await self.pipeline.builder.build(
            runtime,
            checkout.path,
            self.app.build,
            port=self.app.port,
            tag=f"rivetr/{self.app.name}:{self.id}",
            labels=self._labels(),
            on_output=self.log.writer("build"),
        )
        exposed = await self._exposed_ports(runtime, image)
        await self.record(
            ImageBuilt(
                deployment_id=self.id,
                image=image,
                duration_ms=self.pipeline.ms_since(started),
                exposed_ports=exposed,
                port=self.app.port,
            )
        )
        return image

    async def _exposed_ports(self, runtime: ContainerRuntime, image: str) -> list[int] | None:
        """The ports `image` declares (None when the engine would not say), and a line in the
        log when the app's port is not one of them: the likeliest reason a check fails."""
        try:
            exposed = await runtime.image_ports(image)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not read the exposed ports of %s: %s", image, exc)
            return None
        self.mismatch = port_mismatch(exposed, self.app.port)
        if self.mismatch is not None:
            self.log.write("rivetr", f"warning: {self.mismatch}")
        return exposed

    def _labels(self) -> dict[str, str]:
        return release_labels(self.app, self.id)

    async def _start(self, runtime: ContainerRuntime, image: str) -> tuple[int, int]:
        self.step = "start"
        started = self.pipeline.clock.monotonic()
        health_port = self.app.health.port or self.app.port
        if self.network is not None:
            await runtime.create_network(self.network, {MANAGED_LABEL: "true"})
        spec = release_spec(self.app, self.id, image, self.network)
        name = spec.name
        info = await runtime.run_container(spec)
        self.container = name
        host_port = info.host_ports[self.app.port]
        await self.record(
            ContainerStarted(
                deployment_id=self.id,
                container_id=info.id,
                container_name=name,
                image=image,
                host_port=host_port,
                duration_ms=self.pipeline.ms_since(started),
            )
        )
        return host_port, info.host_ports[health_port]

    async def _check_health(self, runtime: ContainerRuntime, health_port: int) -> None:
        self.step = "health"
        started = self.pipeline.clock.monotonic()
        probes = 0
        told = ProbeLog(lambda line: self.log.write("health", line), self.app.health)

        async def on_probe(result: ProbeResult) -> None:
            nonlocal probes
            probes = result.attempt
            told.probe(result)
            await self.record(
                HealthProbed(
                    deployment_id=self.id,
                    attempt=result.attempt,
                    ok=result.ok,
                    status=result.status,
                    error=result.error,
                    duration_ms=result.duration_ms,
                    url=result.url,
                )
            )

        async def is_running() -> bool:
            assert self.container is not None
            info = await runtime.inspect_container(self.container)
            return info is not None and info.state == "running"

        try:
            healthy, summary = await self.pipeline.prober.wait_until_healthy(
                health_port, self.app.health, on_probe=on_probe, is_running=is_running
            )
        finally:
            told.end()
        if not healthy:
            assert self.container is not None
            output = await _output_of(runtime, self.container)
            for line in output.splitlines():
                self.log.write("app", line)
            port = self.app.health.port or self.app.port
            last = told.last(exited=summary == EXITED)
            raise StepFailed(
                health_failure(self.app.health, port, last, self.mismatch), output.splitlines()
            )
        await self.record(
            DeploymentHealthy(
                deployment_id=self.id, probes=probes, duration_ms=self.pipeline.ms_since(started)
            )
        )

    async def _switch(self, host_port: int, health_port: int) -> None:
        self.step = "switch"
        previous = await self.pipeline.read.deployments.release(self.app.app_id)
        previous_id = previous.deployment_id if previous else None
        await self.record(
            TrafficSwitched(
                deployment_id=self.id,
                app=self.app.name,
                host_port=host_port,
                previous_deployment_id=previous_id,
            )
        )
        self.log.write("rivetr", f"live on 127.0.0.1:{host_port}")
        ok, _, error = await self.pipeline.prober.probe(health_port, self.app.health)
        if not ok:
            await self.roll_back(previous, f"failed its check right after the switch: {error}")
            return
        await self.went_live(previous)

    async def went_live(self, previous: ReleaseView | None) -> None:
        """It is the live release now: failures no longer remove it, and the one it replaced
        is superseded (drained, then retired by the deployer)."""
        self.container = self.service = None
        if previous is not None:
            superseded = DeploymentSuperseded(
                deployment_id=previous.deployment_id,
                by_deployment_id=self.id,
                drain_s=self.pipeline.drain_s,
            )
            await self.pipeline.recorder.record(previous.deployment_id, superseded)
            self.superseded = superseded

    async def roll_back(self, previous: ReleaseView | None, reason: str) -> None:
        self.step = "rollback"
        self.log.write("rivetr", f"rolling back: {reason}")
        to = previous.deployment_id if previous else None
        await self.record(
            RollbackStarted(deployment_id=self.id, to_deployment_id=to, reason=reason)
        )
        await self._keep_container_output()
        await self._remove_container()
        await self.record(
            RolledBack(
                deployment_id=self.id,
                app=self.app.name,
                to_deployment_id=to,
                host_port=previous.host_port if previous else None,
            )
        )

    async def _keep_container_output(self) -> None:
        """Stop the container and copy the end of its output into the log, before it goes
        (stopped first, so that the engine has every line it wrote)."""
        if self.container is None or self.runtime is None:
            return
        with contextlib.suppress(ContainerError, EngineUnavailable):
            await self.runtime.stop_container(self.container, timeout_s=5)
            output = await self.runtime.container_logs(self.container, tail=100)
            for line in output.splitlines():
                self.log.write("app", line)

    async def _remove_container(self) -> None:
        await self._remove_service()
        if self.container is None or self.runtime is None:
            return
        name, self.container = self.container, None
        try:
            await self.runtime.remove_container(name, force=True)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not remove container %s: %s", name, exc)

    async def _remove_service(self) -> None:
        if self.service is None or self.pipeline.swarm is None:
            return
        name, self.service = self.service, None
        try:
            await self.pipeline.swarm().remove_service(name)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not remove service %s: %s", name, exc)


async def _output_of(runtime: ContainerRuntime, container: str) -> str:
    """The end of a failed release's output, or nothing when it cannot be read (its container
    removed meanwhile): the failure's own reason stands, not the engine's "no such container"."""
    try:
        return await runtime.container_logs(container, tail=100)
    except (ContainerError, EngineUnavailable) as exc:
        log.warning("could not read the output of %s: %s", container, exc)
        return ""


def _tail(exc: BaseException) -> list[str]:
    text = getattr(exc, "log", "") or ""
    return text.splitlines()[-100:] if isinstance(text, str) else []
