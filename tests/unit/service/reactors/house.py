"""The whole service on in-memory twins of every port: the event store, the engine, git, the
builders, the health probe and the clock. A test holds any step at a gate, "crashes" the
service there and starts a new one on the same store, all in milliseconds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from rivetr.adapters.builders.fake import FakeBuilder
from rivetr.adapters.clock import FakeClock
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.health.base import ProbeAnswer
from rivetr.adapters.health.fake import FakeProber
from rivetr.adapters.notify.memory import MemorySender
from rivetr.adapters.runtime.base import ContainerInfo, ContainerRuntime, ContainerSpec
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.adapters.source.base import Checkout
from rivetr.adapters.source.fake import FakeSource
from rivetr.adapters.source.policy import StaticResolver
from rivetr.adapters.swarm.fake import FakeSwarm
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.deployment import DeploymentState
from rivetr.domain.settings import BuildSettings, HealthCheck, HealthCheckInput
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner

URL = "https://git.example.com/web.git"
DOCKERFILE = f"FROM {BUSYBOX_IMAGE}\nCOPY index.html /www/index.html\n"
DRAIN_S = 7.0
HEALTH = HealthCheckInput(path="/", interval_s=1, timeout_s=1, boot_deadline_s=5)
STEPS = ("source", "build", "start", "health", "switch")


class Gates:
    """Places where a step waits until the test lets it go on; `reached` says it got there."""

    def __init__(self) -> None:
        self.held: dict[str, asyncio.Event] = {}
        self.reached: dict[str, asyncio.Event] = {}

    def hold(self, step: str) -> None:
        self.held[step] = asyncio.Event()
        self.reached[step] = asyncio.Event()

    def release(self, step: str) -> None:
        self.held.pop(step).set()

    async def wait_reached(self, step: str) -> None:
        with anyio.fail_after(5):
            await self.reached[step].wait()

    async def at(self, step: str) -> None:
        held = self.held.get(step)
        if held is not None:
            self.reached[step].set()
            await held.wait()


class HeldSource(FakeSource):
    def __init__(self, gates: Gates) -> None:
        super().__init__()
        self.gates = gates

    async def fetch(self, url: str, **kwargs: object) -> Checkout:  # type: ignore[override]
        await self.gates.at("source")
        return await super().fetch(url, **kwargs)  # type: ignore[arg-type]


class HeldBuilder(FakeBuilder):
    def __init__(self, gates: Gates) -> None:
        super().__init__()
        self.gates = gates

    async def build(  # type: ignore[override]
        self, runtime: ContainerRuntime, source: Path, settings: BuildSettings, **kwargs: object
    ) -> str:
        await self.gates.at("build")
        return await super().build(runtime, source, settings, **kwargs)  # type: ignore[arg-type]


class HeldRuntime(FakeRuntime):
    def __init__(self, gates: Gates) -> None:
        super().__init__()
        self.gates = gates

    async def run_container(self, spec: ContainerSpec) -> ContainerInfo:
        await self.gates.at("start")
        return await super().run_container(spec)


class HeldProber(FakeProber):
    """Held at "health" before the boot check, at "switch" before the check after the switch."""

    def __init__(self, gates: Gates, clock: FakeClock) -> None:
        super().__init__(clock)
        self.gates = gates

    async def wait_until_healthy(  # type: ignore[override]
        self, port: int, check: HealthCheck, **kwargs: object
    ) -> tuple[bool, str]:
        await self.gates.at("health")
        return await super().wait_until_healthy(port, check, **kwargs)  # type: ignore[arg-type]

    async def probe(self, port: int, check: HealthCheck, *, host: str | None = None) -> ProbeAnswer:
        await self.gates.at("switch")
        return await super().probe(port, check, host=host)


class HeldClock(FakeClock):
    """Held at "drain" when something sleeps a whole drain."""

    def __init__(self, gates: Gates) -> None:
        super().__init__()
        self.gates = gates

    async def sleep(self, seconds: float) -> None:
        if seconds == DRAIN_S:
            await self.gates.at("drain")
        await super().sleep(seconds)


@dataclass
class House:
    """What outlives a crash: the log, the read model's file, the engine and the repository."""

    data: Path
    gates: Gates = field(default_factory=Gates)
    store: InMemoryEventStore = field(default_factory=InMemoryEventStore)
    registry: str | None = None  # where the images of apps on servers are pushed

    def __post_init__(self) -> None:
        self.clock = HeldClock(self.gates)
        self.runtime = HeldRuntime(self.gates)
        self.source = HeldSource(self.gates)
        self.builder = HeldBuilder(self.gates)
        self.prober = HeldProber(self.gates, self.clock)
        self.prober.otherwise(200)
        self.sender = MemorySender()
        self.swarm = FakeSwarm(networks=self.runtime.networks)  # one engine: the manager
        self.data.mkdir(parents=True, exist_ok=True)

    def commit(self, message: str) -> str:
        return self.source.commit(URL, {"Dockerfile": DOCKERFILE, "index.html": message}, message)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Services]:
        """The service on this house, its background work running; leaving it unclosed is a
        crash (the store stays open, as the file would on disk)."""
        settings = Settings(
            data_dir=str(self.data),
            engine="none",
            proxy_enabled=False,
            acme_auto=False,
            resources_interval_s=0,
            drain_s=DRAIN_S,
            swarm_registry=self.registry,
        )
        if not await self.runtime.image_exists(BUSYBOX_IMAGE):
            await self.runtime.import_image(b"a root fs", BUSYBOX_IMAGE, cmd=["/bin/sh"])
        runner = ProjectionRunner(self.store, self.data / "read.db", all_projections())
        await runner.open()
        await runner.catch_up()
        read = await ReadModel.open(self.data / "read.db")
        services = Services(
            settings,
            self.store,
            runner,
            read,
            StaticResolver({"git.example.com": ["93.184.216.34"]}),
            runtime=self.runtime,
            source=self.source,
            builder=self.builder,
            prober=self.prober,
            clock=self.clock,
            sender=self.sender,
            swarm=self.swarm,
        )
        try:
            async with services.background():
                with anyio.fail_after(5):
                    await services.engine.ready.wait()
                yield services
        finally:
            await read.close()
            await runner.close()


async def create_app(services: Services, name: str = "web") -> None:
    await services.apps.handle(SYSTEM, CreateApp(name=name, git_url=URL, port=8080, health=HEALTH))


async def until(services: Services, deployment_id: str, statuses: Iterable[str]) -> DeploymentState:
    """The deployment once it reaches one of `statuses`, with the read model caught up."""
    wanted = set(statuses)
    with anyio.fail_after(5):
        # the pipeline runs on its own task: poll its stream, briefly
        while (state := await services.recorder.state(deployment_id)).status not in wanted:  # noqa: ASYNC110
            await anyio.sleep(0.001)
        await services.runner.wait_until(await services.store.head())
    return state


async def settled(condition: Callable[[], object]) -> None:
    """Wait (briefly) until `condition()` is true: for work the service does on its own."""
    with anyio.fail_after(5):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.001)


async def types(services: Services, deployment_id: str) -> list[str]:
    return [e.type for e in await services.store.read_stream(f"deployment-{deployment_id}")]
