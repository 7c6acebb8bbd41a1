"""The container runtime port: what Rivetr needs from Docker or Podman, and nothing more."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

import msgspec

# what a container is asked to be lives in `container_spec`; imported from here as before
from rivetr.adapters.runtime.container_spec import ContainerSpec as ContainerSpec
from rivetr.adapters.runtime.container_spec import EngineHealthcheck as EngineHealthcheck
from rivetr.adapters.runtime.container_spec import Mount as Mount
from rivetr.adapters.runtime.container_spec import PublishedPort as PublishedPort
from rivetr.adapters.runtime.execution import ExecOutput, ExecResult

MANAGED_LABEL = "rivetr.managed"
# the engines' words when a container is connected to a network it is on already (Docker's,
# Podman's): a caller that wants "connected" either way tells the refusal by them
ALREADY_CONNECTED = ("already exists", "already connected")
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


class ContainerInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    image: str
    labels: dict[str, str]
    state: str  # the engine's own word: created, running, exited, dead...
    host_ports: dict[int, int] = {}
    exit_code: int | None = None  # the process's exit status once it exited; None before


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


class VolumeInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    labels: dict[str, str]


Health = Literal["starting", "healthy", "unhealthy"]


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

    async def image_id(self, ref: str) -> str | None:
        """The id (`sha256:...`) of the image `ref` names now; None when there is none. What
        a release records, so that going back to it runs the same bytes whatever the tag
        names later."""
        ...

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
        """Create a container (with an init process), join it to its networks, and start it;
        return it as started.

        Raises:
            ContainerError: the image, a network or a bind mount's source is missing, a
                fixed host port is taken, or the engine refused the spec; no container is
                left behind.
        """
        ...

    async def inspect_container(self, name_or_id: str) -> ContainerInfo | None: ...

    async def stop_container(self, name_or_id: str, timeout_s: float | None = None) -> None:
        """Send the container's stop signal, then SIGKILL after `timeout_s` (None: the
        container's own `stop_grace_s`, kept by the engine); a stopped one is left as it is."""
        ...

    async def start_container(self, name_or_id: str) -> ContainerInfo:
        """Start a stopped container again, as it was made (its ports published anew: an
        engine-chosen one may change); a running one is left as it is.

        Raises:
            ContainerError: no such container, or the engine could not start it.
        """
        ...

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

    # -- volumes, networks, health, exec: what managed databases need ------------------------

    async def create_volume(self, name: str, labels: dict[str, str]) -> VolumeInfo:
        """Make the named volume; an existing one is kept as it is (labels included)."""
        ...

    async def volume_exists(self, name: str) -> bool: ...

    async def remove_volume(self, name: str) -> None:
        """Remove a volume and its files; a missing one is already removed.

        Raises:
            ContainerError: a container (even a stopped one) still mounts it.
        """
        ...

    async def list_volumes(self, labels: dict[str, str]) -> list[VolumeInfo]:
        """The volumes carrying every one of `labels`, sorted by name."""
        ...

    async def copy_volume(self, source: str, target: str, image: str) -> None:
        """Copy every file of volume `source` into volume `target` (made when missing), with
        owners and modes kept: a short-lived container of `image` (which needs `sh` and `cp`)
        runs `cp -a`.

        Raises:
            ContainerError: `source` does not exist, or the copy failed.
        """
        ...

    async def create_network(self, name: str, labels: dict[str, str]) -> None:
        """Make a user-defined bridge network, on which containers reach each other by name and
        alias; an existing one is kept."""
        ...

    async def list_networks(self, labels: dict[str, str]) -> list[str]:
        """The names of the networks carrying every one of `labels`, sorted."""
        ...

    async def remove_network(self, name: str) -> None:
        """Remove a network; a missing one is already removed.

        Raises:
            ContainerError: a container is still connected to it.
        """
        ...

    async def connect_network(self, container: str, network: str, aliases: list[str]) -> None:
        """Connect a running container to `network`, reachable there by `aliases` too.

        Raises:
            ContainerError: saying one of `ALREADY_CONNECTED` when it is on it already.
        """
        ...

    async def container_health(self, name_or_id: str) -> Health | None:
        """The state of the container's engine health check; None when it has none.

        On Podman, which runs no health checks by itself without systemd, this runs the check
        once first, so the answer moves on as it does on Docker.
        """
        ...

    def exec_output(
        self,
        container: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> ExecOutput:
        """Run `argv` in a running container and yield its stdout as it comes, at most
        EXEC_CHUNK_BYTES read ahead of the consumer (a slow one slows the command down).

        The container needs `/bin/sh`: the command runs under a one-line wrapper that tells its
        process group, so that closing the iterator early (`aclose()`; leaving an `async for`
        does not close it: use `contextlib.aclosing`) kills it and its children.

        Raises:
            ExecFailed: after all of stdout, when the command exited non-zero.
            ContainerError: no such running container.
        """
        ...

    async def exec_input(
        self,
        container: str,
        argv: list[str],
        chunks: AsyncIterable[bytes],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> ExecResult:
        """Run `argv` with `chunks` as its stdin, closed at their end (the command sees EOF),
        and wait for it to exit. A command that exits before reading everything ends the
        feeding: its exit code says what happened. Needs `/bin/sh`, as `exec_output`."""
        ...

    async def exec_run(
        self,
        container: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout_s: float = 60.0,
    ) -> ExecResult:
        """Run `argv` (no stdin) and wait for it; a small output's tail comes back.

        Raises:
            TimeoutError: it ran longer than `timeout_s`; it was killed.
        """
        ...

    async def close(self) -> None: ...
