"""What the contract suites run against: each event store, and each runtime (the in-memory
twin and the real engines)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest

from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.adapters.runtime.base import MANAGED_LABEL, ContainerRuntime, ContainerSpec
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image
from rivetr.adapters.runtime.fake import FakeRuntime
from tests.engine import TEST_RUN_LABEL, connect_real_engine, remove_test_leftovers

WEB_DOCKERFILE = f"""\
FROM {BUSYBOX_IMAGE}
COPY index.html /www/index.html
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Engine:
    """One runtime under test, with the helpers its tests share; it cleans up after them."""

    runtime: ContainerRuntime
    workdir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    images: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    @property
    def fake(self) -> FakeRuntime | None:
        return self.runtime if isinstance(self.runtime, FakeRuntime) else None

    def name(self, what: str) -> str:
        """A container or image name no other test (or test run) uses."""
        return f"rivetr-test-{what}-{self.run_id}-{uuid.uuid4().hex[:6]}"

    def image_tag(self, what: str) -> str:
        tag = f"rivetr-test/{self.name(what)}:latest"
        self.images.append(tag)
        return tag

    def network_name(self, what: str) -> str:
        """A network name of this test, its network removed after it."""
        name = self.name(what)
        self.networks.append(name)
        return name

    def volume_name(self, what: str) -> str:
        """A volume name of this test, for a volume made without its labels (as a container
        makes the volumes it mounts), removed after it."""
        name = self.name(what)
        self.volumes.append(name)
        return name

    @property
    def labels(self) -> dict[str, str]:
        """What marks a volume (or container) as this test's, for cleanup."""
        return {TEST_RUN_LABEL: self.run_id}

    def context(self, dockerfile: str, **files: str) -> Path:
        """A fresh build context directory holding `dockerfile` and `files`."""
        directory = self.workdir / uuid.uuid4().hex[:8]
        directory.mkdir()
        (directory / "Dockerfile").write_text(dockerfile)
        for name, text in files.items():
            (directory / name).write_text(text)
        return directory

    async def build_web_image(self, on_output: Callable[[str], None] | None = None) -> str:
        """Build the busybox httpd image serving `index.html`; return its tag."""
        tag = self.image_tag("web")
        context = self.context(WEB_DOCKERFILE, **{"index.html": f"hello from {self.run_id}\n"})
        await self.runtime.build_image(context, tag, on_output=on_output)
        return tag

    def spec(self, image: str, **overrides: object) -> ContainerSpec:
        """A small container spec labelled for this test run, publishing 8080 on a free port."""
        spec = ContainerSpec(
            name=self.name("web"),
            image=image,
            labels={MANAGED_LABEL: "true", TEST_RUN_LABEL: self.run_id},
            ports={8080: None},
            memory_bytes=64 * 1024 * 1024,
            nano_cpus=500_000_000,
            restart_policy="no",
        )
        return msgspec.structs.replace(spec, **overrides)


REAL_ENGINES = [
    pytest.param("docker", marks=[pytest.mark.integration, pytest.mark.docker]),
    pytest.param("podman", marks=[pytest.mark.integration, pytest.mark.podman]),
]


@pytest.fixture(params=["fake", *REAL_ENGINES])
async def engine(
    request: pytest.FixtureRequest, anyio_backend: str, tmp_path: Path
) -> AsyncIterator[Engine]:
    async for opened in open_engine(request.param, tmp_path):
        yield opened


@pytest.fixture(params=REAL_ENGINES)
async def real_engine(
    request: pytest.FixtureRequest, anyio_backend: str, tmp_path: Path
) -> AsyncIterator[Engine]:
    """For what the in-memory twin cannot show, such as a build that takes time."""
    async for opened in open_engine(request.param, tmp_path):
        yield opened


async def open_engine(kind: str, tmp_path: Path) -> AsyncIterator[Engine]:
    """The runtime `kind` ("fake", "docker", "podman") with the busybox image, cleaned up after."""
    if kind == "fake":
        runtime: ContainerRuntime = FakeRuntime()
        await runtime.import_image(b"a root fs", BUSYBOX_IMAGE, cmd=["/bin/sh"])
    else:
        runtime = await connect_real_engine(kind)  # type: ignore[arg-type]
        await ensure_busybox_image(runtime)
    engine = Engine(runtime=runtime, workdir=tmp_path)
    try:
        yield engine
    finally:
        await remove_test_leftovers(
            runtime, engine.run_id, engine.images, engine.networks, engine.volumes
        )
        await runtime.close()


# Long enough that a subscriber woken in time was woken by the commit, not by polling.
SLOW_POLL = 30.0


@pytest.fixture(params=["sqlite", "memory"])
async def store(
    request: pytest.FixtureRequest, anyio_backend: str, tmp_path: Path
) -> AsyncIterator[EventStore]:
    """Each event store, for the suites every store must pass."""
    backend: EventStore
    if request.param == "sqlite":
        backend = await SqliteEventStore.open(tmp_path / "events.db", poll_interval=SLOW_POLL)
    else:
        backend = InMemoryEventStore()
    yield backend
    await backend.close()
