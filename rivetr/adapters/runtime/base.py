"""The container runtime port: what Rivetr needs from Docker or Podman, and nothing more."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

import msgspec

MANAGED_LABEL = "rivetr.managed"
APP_LABEL = "rivetr.app"
DEPLOYMENT_LABEL = "rivetr.deployment"


class EngineUnavailable(Exception):
    """The container engine cannot be reached (no socket, daemon down, wrong URL)."""


class BuildFailed(Exception):
    """An image build failed; `log` holds the build output up to the failure."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class ContainerError(Exception):
    """The engine refused or failed a container operation (missing image, bad spec...)."""


class EngineInfo(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["docker", "podman"]
    version: str
    api_version: str
    url: str


class ContainerSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    image: str
    labels: dict[str, str] = {}
    env: dict[str, str] = {}
    command: list[str] | None = None
    # container port -> host port; None asks the engine for a free port on 127.0.0.1
    ports: dict[int, int | None] = {}
    memory_bytes: int | None = 512 * 1024 * 1024
    nano_cpus: int | None = 1_000_000_000
    restart_policy: Literal["no", "on-failure", "unless-stopped", "always"] = "unless-stopped"


class ContainerInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    image: str
    labels: dict[str, str]
    state: str  # the engine's own word: created, running, exited, dead...
    host_ports: dict[int, int] = {}


class ContainerStats(msgspec.Struct, frozen=True, kw_only=True):
    """One reading of a running container's counters (CPU use is cumulative: a rate needs two
    readings)."""

    cpu_ns: int  # CPU time used since the container started, all cores together
    memory_bytes: int  # in use, without the page cache the kernel can drop
    memory_limit_bytes: int | None  # None: no limit below the machine's memory


class LogLine(msgspec.Struct, frozen=True):
    """One line a container wrote (stdout or stderr), and when the engine received it (its
    RFC 3339 timestamp, as the engine gives it: a place to resume from)."""

    at: str
    text: str


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def log_time_ns(at: str) -> int:
    """An engine's log timestamp (RFC 3339, fractions down to the nanosecond, which a float
    or `datetime` would lose) as nanoseconds since the epoch.

    Raises:
        ValueError: `at` is not such a timestamp.
    """
    match = _RFC3339.fullmatch(at)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {at!r}")
    zone = "+00:00" if match[3] == "Z" else match[3]
    whole = int(datetime.fromisoformat(match[1] + zone).timestamp())
    return whole * 10**9 + int((match[2] or "").ljust(9, "0"))


class ImageInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    tags: list[str]  # as Docker shows them: `rivetr/web:abc`, never `docker.io/...`
    labels: dict[str, str]


class ContainerRuntime(Protocol):
    """One container engine. Every method is async; blocking SDK calls run in worker threads."""

    async def ping(self) -> EngineInfo:
        """Check the engine answers; raise EngineUnavailable when it does not."""
        ...

    async def build_image(
        self,
        context: Path,
        tag: str,
        *,
        dockerfile: str = "Dockerfile",
        build_args: dict[str, str] | None = None,
        target: str | None = None,
        labels: dict[str, str] | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> str:
        """Build `context` into `tag`, streaming output lines; return the image id."""
        ...

    async def import_image(self, tarball: bytes, ref: str, *, cmd: list[str]) -> str:
        """Import a root file system tarball as image `ref` with default command `cmd`."""
        ...

    async def image_exists(self, ref: str) -> bool: ...

    async def image_ports(self, ref: str) -> list[int]:
        """The TCP ports image `ref` declares (its EXPOSE lines), sorted; [] when none.

        Raises:
            ContainerError: no such image.
        """
        ...

    async def remove_image(self, ref: str) -> None: ...

    async def list_images(self, labels: dict[str, str]) -> list[ImageInfo]:
        """The images carrying every one of `labels`, sorted by id."""
        ...

    async def run_container(self, spec: ContainerSpec) -> ContainerInfo:
        """Create and start a container (with an init process); return it as started."""
        ...

    async def inspect_container(self, name_or_id: str) -> ContainerInfo | None: ...

    async def stop_container(self, name_or_id: str, timeout_s: float = 10.0) -> None: ...

    async def remove_container(self, name_or_id: str, *, force: bool = False) -> None: ...

    async def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        """All containers (running or not) carrying every one of `labels`."""
        ...

    async def container_logs(self, name_or_id: str, tail: int = 100) -> str: ...

    def log_lines(
        self, name_or_id: str, *, tail: int, since: float | None = None, follow: bool = False
    ) -> AsyncIterator[LogLine]:
        """The container's lines: the last `tail` (-1: all) of those written since `since`
        (Unix seconds; None: any), then, with `follow`, each new one as it is written, until
        the container stops or the caller closes the iterator.

        Raises:
            ContainerError: no such container.
        """
        ...

    async def container_stats(self, name_or_id: str) -> ContainerStats:
        """One reading of a running container's CPU and memory counters."""
        ...

    async def close(self) -> None: ...
