"""One stack release, step by step, each an event: its files fetched or written and its
variables opened (`stack_release_files`), the compose file read and allowed, every service's
image made ready, the services started wave by wave (beside their previous containers, in their
place, kept, or once; those that ask for copies on servers as swarm services, `stack_servers`)
and each gated, then every route switched at once.
Any failure before the switch puts every service back on its previous container: the previous
release serves as it did."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass

import msgspec

from rivetr.adapters.builders.base import BuildPlanError
from rivetr.adapters.compose_files import DirectorySources
from rivetr.adapters.logs import DeploymentLog
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    BuildFailed,
    ContainerError,
    ContainerRuntime,
    ContainerSpec,
    EngineUnavailable,
)
from rivetr.adapters.secrets import SecretError
from rivetr.adapters.source.base import SourceError
from rivetr.adapters.swarm.base import ServiceSpec
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.service import Service
from rivetr.domain.compose.stack_file import StackFile, read_stack_file
from rivetr.domain.compose.where import ComposeError
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.errors import AlreadyExists
from rivetr.domain.references import UnresolvedReference
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackReleaseFailed,
    StackServiceBalanced,
    StackServiceImageReady,
    StackServiceOnServers,
    StackServiceReady,
    StackServiceStarted,
    StackSourceFetched,
    StackStep,
    StackSwitched,
    StartMode,
)
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.domain.stacks import StackState
from rivetr.projections.registry import ReadModel
from rivetr.service.reactors.database_containers import network_name as environment_network
from rivetr.service.reactors.overlay import connect_environment, overlay_name
from rivetr.service.reactors.replica_release import node_name
from rivetr.service.reactors.stack_gates import GateFailed, wait_ready
from rivetr.service.reactors.stack_images import ready_image
from rivetr.service.reactors.stack_ports import StackPorts, StepFailed, claim_host_ports
from rivetr.service.reactors.stack_release_files import ReleaseFiles, ReleaseVariables
from rivetr.service.reactors.stack_servers import (
    OVERLAY_SUFFIX,
    Servers,
    members,
    placement_words,
    pullable,
    servers_spec,
    wait_copies,
)
from rivetr.service.reactors.stack_specs import (
    SPEC_LABEL,
    PlanError,
    StackPlace,
    network_name,
    service_spec,
    stack_labels,
    start_mode,
)

log = logging.getLogger(__name__)

FAILURES = (
    SourceError,
    BuildFailed,
    BuildPlanError,
    ContainerError,
    EngineUnavailable,
    ComposeError,
    PlanError,
    GateFailed,
    SecretError,
    AlreadyExists,
    UnresolvedReference,
)


@dataclass
class _Started:
    service: str
    container: str
    mode: StartMode
    replaced: str | None  # the previous container, stopped, started again on undo


class StackReleaseRun:
    """One run of one release; `previous` is the container each service ran in the live
    release (for keeping or replacing it)."""

    def __init__(
        self,
        ports: StackPorts,
        state: StackReleaseState,
        stack: StackState,
        log: DeploymentLog,
        read: ReadModel | None = None,
    ) -> None:
        """`read`: where the environment's databases are found, for services on servers."""
        self.ports = ports
        self.read = read
        self.servers: Servers | None = None  # while some services run on servers
        self.pulled: dict[str, str] = {}  # a service on servers -> the image servers pull
        self.on_servers: dict[str, tuple[str, ServiceSpec]] = {}  # -> (its service, asked)
        self.services_started: list[str] = []  # swarm services this run made
        self.id = state.release_id
        self.state = state
        self.stack = stack
        self.log = log
        self.step: StackStep = "source"
        self.service: str | None = None
        self.started: list[_Started] = []
        self.checkout = ports.work_root / stack.stack_id / self.id
        self.files = ReleaseFiles(ports, stack, state, self.checkout, log)
        self.variables = ReleaseVariables(ports, stack)

    async def record(self, event: object) -> None:
        await self.ports.recorder.record(self.id, event)  # type: ignore[arg-type]

    async def execute(self, previous: dict[str, str]) -> bool:
        """True when the release went live."""
        try:
            await self._steps(previous)
            return True
        except IllegalTransition as exc:
            self.log.write("rivetr", f"stopped: {exc}")
            await self._undo()
        except asyncio.CancelledError:
            self.log.write("rivetr", "stopped: cancelled")
            await asyncio.shield(self._undo())
            raise
        except (StepFailed, *FAILURES) as exc:
            await self._fail(str(exc), getattr(exc, "log_tail", []) or _tail(exc))
        except Exception as exc:
            log.exception("stack release %s crashed at %s", self.id, self.step)
            await self._fail(f"internal error: {type(exc).__name__}: {exc}", [])
        shutil.rmtree(self.checkout, ignore_errors=True)
        return False

    async def _fail(self, reason: str, log_tail: list[str]) -> None:
        self.log.write("rivetr", f"failed at {self.step}: {reason}")
        await self._undo()
        with contextlib.suppress(IllegalTransition):
            await self.record(
                StackReleaseFailed(
                    release_id=self.id,
                    step=self.step,
                    reason=reason,
                    service=self.service,
                    log_tail=log_tail[-100:],
                )
            )

    async def _steps(self, previous: dict[str, str]) -> None:
        runtime = self.ports.runtime()
        if runtime is None:
            raise StepFailed("the container engine is unavailable; see /api/v1/health")
        entry = await self._source()
        self.step = "read"
        await self.variables.load_references()
        variables = self.variables.opened()  # once: the file and the services take the same
        here = await self.ports.swarm_here()
        allowances = await self.ports.allowances(self.stack.team)
        stack_file = self._read(entry, variables, allowances, servers=here is not None)
        await self.record(
            StackComposeRead(
                release_id=self.id, waves=stack_file.waves, warnings=list(stack_file.warnings)
            )
        )
        self.step = "claims"
        ports = [port for _, port, _ in stack_file.host_ports]
        await claim_host_ports(self.ports.store, self.stack, ports)
        if stack_file.on_servers and here is not None:
            registry = await self.ports.registry() if self.ports.registry else None
            self.servers = Servers(swarm=here[0], info=here[1], registry=registry)
            named = ", ".join(sorted(stack_file.on_servers))
            self.log.write("rivetr", f"on servers: {named}")
        images = await self._images(runtime, stack_file)
        await self._start(runtime, stack_file, images, variables, previous)
        self.step, self.service = "switch", None
        await self.record(StackSwitched(release_id=self.id))
        self.started, self.services_started = [], []  # live now: a failure no longer undoes it

    async def _source(self) -> str:
        """The release's files in its checkout; the compose file's path there."""
        self.step = "source"
        entry, sha, digest = await self.files.fetch()
        await self.record(
            StackSourceFetched(release_id=self.id, commit_sha=sha, compose_digest=digest)
        )
        return entry

    def _read(
        self, entry: str, variables: dict[str, str], allowances: Allowances, *, servers: bool
    ) -> StackFile:
        self.step = "read"
        stack_file = read_stack_file(
            DirectorySources(self.checkout),
            entry,
            variables=variables,
            allowances=allowances,
            data_dir=str(self.ports.data_dir.resolve()),
            servers=servers,
        )
        for line in stack_file.warnings:
            self.log.write("rivetr", f"warning: {line}")
        services = stack_file.project.services
        for route in self.stack.routes:
            if route.service not in services:
                raise StepFailed(
                    f"routes: the domains of {route.service!r} reach no service of the compose"
                    f" file (it has {', '.join(sorted(services))})"
                )
        return stack_file

    async def _images(self, runtime: ContainerRuntime, stack_file: StackFile) -> dict[str, str]:
        self.step = "image"
        images: dict[str, str] = {}
        for name in (n for wave in stack_file.waves for n in wave):
            self.service = name
            image, built = await ready_image(
                self.ports,
                runtime,
                self.stack,
                self.state,
                stack_file,
                name,
                self.checkout,
                self.log,
            )
            await self.record(
                StackServiceImageReady(release_id=self.id, service=name, image=image, built=built)
            )
            images[name] = image
            if self.servers is not None and name in stack_file.on_servers:
                pulled = await pullable(self.servers, image, self.stack.name, name, self.id)
                if pulled != image:
                    self.log.write("rivetr", f"{name}: pushed {pulled}")
                self.pulled[name] = pulled
        self.service = None
        return images

    async def _start(
        self,
        runtime: ContainerRuntime,
        stack_file: StackFile,
        images: dict[str, str],
        variables: dict[str, str],
        previous: dict[str, str],
    ) -> None:
        self.step = "start"
        place = StackPlace(
            stack_id=self.stack.stack_id,
            stack_name=self.stack.name,
            release_id=self.id,
            checkout=self.checkout,
            environment_network=environment_network(
                self.stack.team, self.stack.project, self.stack.environment
            ),
            network_suffix=OVERLAY_SUFFIX if self.servers is not None else "",
        )
        labels = stack_labels(self.stack.stack_id)
        for network in [*stack_file.project.networks, "default"]:
            name = network_name(self.stack.stack_id, network) + place.network_suffix
            if self.servers is not None:
                await self.servers.swarm.create_network(name, labels)
            else:
                await runtime.create_network(name, labels)
        await runtime.create_network(place.environment_network, {MANAGED_LABEL: "true"})
        environment = (place.environment_network, await self._environment_overlay(runtime, place))
        for wave in stack_file.waves:
            specs: dict[str, ContainerSpec] = {}
            for name in wave:
                self.service = name  # a reference its environment holds may fail here
                specs[name] = service_spec(
                    place,
                    stack_file.project,
                    name,
                    images[name],
                    variables=variables,
                    routes=list(self.stack.routes),
                    resolve_env=self.variables.resolve,
                )
            for name, spec in specs.items():
                self.service = name
                if name in self.pulled:
                    service = stack_file.project.services[name]
                    await self._start_on_servers(
                        name, service, spec, previous.get(name), environment
                    )
                else:
                    await self._start_one(runtime, stack_file, name, spec, previous.get(name))
            self.step = "health"
            await self._gate(runtime, wave, specs)
            self.step = "start"
        self.service = None

    async def _environment_overlay(self, runtime: ContainerRuntime, place: StackPlace) -> str:
        """With services on servers, the environment's overlay, its databases on it: the
        services' copies on any server reach them there by name."""
        overlay = overlay_name(place.environment_network)
        if self.servers is None or self.read is None:
            return overlay
        await self.servers.swarm.create_network(overlay, {MANAGED_LABEL: "true"})
        joined = await connect_environment(runtime, self.read, self.stack, overlay)
        if joined:
            self.log.write("rivetr", f"databases {', '.join(joined)} on {overlay}")
        return overlay

    async def _start_on_servers(
        self,
        name: str,
        service: Service,
        container: ContainerSpec,
        before: str | None,
        environment: tuple[str, str],
    ) -> None:
        """The service's copies on servers: its previous release's service kept when it was
        asked the same, else a service of this release started beside it."""
        assert self.servers is not None
        swarm = self.servers.swarm
        spec = servers_spec(
            container,
            service,
            image=self.pulled[name],
            servers_=self.servers,
            environment=environment,
        )
        old = await swarm.service_labels(before) if before else None
        mode: StartMode
        if (
            before is not None
            and old is not None
            and old.get(SPEC_LABEL) == spec.labels[SPEC_LABEL]
        ):
            running, mode = before, "keep"
            self.log.write("rivetr", f"{name}: unchanged, its service {before} kept")
        else:
            self.services_started.append(spec.name)
            await swarm.create_service(spec)
            running, mode = spec.name, "beside"
            self.log.write("rivetr", f"{name}: started as {spec.name} ({placement_words(spec)})")
        self.on_servers[name] = (running, spec)
        await self.record(
            StackServiceOnServers(
                release_id=self.id,
                service=name,
                service_name=running,
                image=spec.image,
                mode=mode,
                replicas=spec.replicas if spec.mode == "replicated" else None,
                placement=placement_words(spec),
            )
        )

    async def _start_one(
        self,
        runtime: ContainerRuntime,
        stack_file: StackFile,
        name: str,
        spec: ContainerSpec,
        before: str | None,
    ) -> None:
        old = await runtime.inspect_container(before) if before else None
        kept = (
            old is not None
            and old.state == "running"
            and old.labels.get(SPEC_LABEL) == spec.labels[SPEC_LABEL]
        )
        mode = start_mode(stack_file.project, name, spec, kept)
        if mode == "once":
            spec = msgspec.structs.replace(spec, restart_policy="no")  # its exit is its end
        if mode == "keep":
            assert old is not None
            self.log.write("rivetr", f"{name}: unchanged, its container {old.name} kept")
            await self.record(
                StackServiceStarted(
                    release_id=self.id,
                    service=name,
                    container=old.name,
                    mode="keep",
                    host_ports=dict(old.host_ports),
                )
            )
            return
        replaced = None
        if mode == "replace" and old is not None and old.state == "running":
            await runtime.stop_container(old.name)
            replaced = old.name
        self.started.append(_Started(name, spec.name, mode, replaced))
        info = await runtime.run_container(spec)
        await self.record(
            StackServiceStarted(
                release_id=self.id,
                service=name,
                container=spec.name,
                mode=mode,
                host_ports={port: info.host_ports[port] for port in spec.ports},
            )
        )

    async def _gate(
        self, runtime: ContainerRuntime, wave: list[str], specs: dict[str, ContainerSpec]
    ) -> None:
        """Every service of the wave ready (healthy, running steadily, or exited 0), each
        recorded as it gets there; the first that does not fails the release."""
        state = await self.ports.recorder.state(self.id)

        async def one(name: str) -> None:
            if name in self.on_servers:
                await self._gate_copies(name, specs[name])
                return
            container = state.services[name].container
            assert container is not None
            mode = state.services[name].mode
            self.service = name
            await wait_ready(runtime, self.ports.clock, container, specs[name], once=mode == "once")
            await self.record(StackServiceReady(release_id=self.id, service=name))

        for name in wave:
            await one(name)

    async def _gate_copies(self, name: str, container: ContainerSpec) -> None:
        """Every copy of a service on servers running, its routed ports recorded per copy."""
        assert self.servers is not None
        self.service = name
        service, spec = self.on_servers[name]
        routed = sorted(container.ports)
        kept = service not in self.services_started
        tasks = await wait_copies(
            self.servers.swarm, self.ports.clock, spec, service, routed, kept=kept
        )
        nodes = {node.node_id: node for node in await self.servers.swarm.nodes()}
        found = members(tasks, routed, nodes)
        for task in tasks:
            where = node_name(task, nodes)
            self.log.write("rivetr", f"{name}: copy {task.slot} runs on {where} ({task.address})")
        await self.record(StackServiceBalanced(release_id=self.id, service=name, members=found))
        await self.record(StackServiceReady(release_id=self.id, service=name))

    async def _undo(self) -> None:
        """Every service back on its previous container: the new ones removed, the ones they
        replaced started again."""
        runtime = self.ports.runtime()
        started, self.started = self.started, []
        services, self.services_started = self.services_started, []
        if self.servers is not None:
            for name in services:
                try:
                    await self.servers.swarm.remove_service(name)
                except (ContainerError, EngineUnavailable) as exc:
                    log.warning("could not remove service %s of release %s: %s", name, self.id, exc)
        if runtime is None:
            return
        for run in reversed(started):
            with contextlib.suppress(ContainerError, EngineUnavailable):
                output = await runtime.container_logs(run.container, tail=100)
                for line in output.splitlines():
                    self.log.write(run.service, line)
            try:
                await runtime.remove_container(run.container, force=True)
                if run.replaced is not None:
                    await runtime.start_container(run.replaced)
            except (ContainerError, EngineUnavailable) as exc:
                log.warning("could not undo %s of release %s: %s", run.service, self.id, exc)


def _tail(exc: BaseException) -> list[str]:
    text = getattr(exc, "log", "") or ""
    return text.splitlines()[-100:] if isinstance(text, str) else []
