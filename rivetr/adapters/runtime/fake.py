"""`FakeRuntime`: an in-memory twin of the container runtime port, for unit tests.

It keeps the observable contract of `DockerRuntime` (the same errors for the same mistakes,
the same states, unique names and ports) without running anything, records what it was asked
to do, and can be told to fail the next build or start.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import anyio
import msgspec

from rivetr.adapters.runtime.base import (
    BuildFailed,
    ContainerError,
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    EngineInfo,
    EngineUnavailable,
    ImageInfo,
    LogLine,
)
from rivetr.adapters.runtime.container_spec import DEFAULT_STOP_GRACE_S, spec_problems
from rivetr.adapters.runtime.fake_container import FakeContainer, stop_signal_number
from rivetr.adapters.runtime.fake_exec import FakeExec
from rivetr.adapters.runtime.fake_resources import FakeResources

_INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


class FakeBuild(msgspec.Struct, frozen=True, kw_only=True):
    """One `build_image` call, as asked."""

    context: Path
    tag: str
    dockerfile: str
    build_args: dict[str, str]
    target: str | None
    labels: dict[str, str]


class FakeStop(msgspec.Struct, frozen=True, kw_only=True):
    """One stop of a running container: the signal sent, and how long it had before SIGKILL."""

    container: str  # its name
    signal: str
    grace_s: float


class FakeRuntime(FakeResources, FakeExec):
    """The port in memory. Images are refs to ids; containers never run anything.

    A build "runs" each Dockerfile instruction by printing it; it fails like the classic
    builder on a missing Dockerfile, an unknown instruction or a `FROM` of an unknown image.
    Containers log nothing unless a test calls `append_log`; what a command run in one does is
    what a test registered with `on_exec` (see `fake_exec`); volumes and networks are in
    `fake_resources`.
    """

    def __init__(self, kind: Literal["docker", "podman"] = "docker") -> None:
        FakeResources.__init__(self)
        FakeExec.__init__(self)
        self.kind: Literal["docker", "podman"] = kind
        self.available = True  # False: every call raises EngineUnavailable
        self.closed = False
        self.builds: list[FakeBuild] = []
        self.started: list[ContainerSpec] = []
        self.stops: list[FakeStop] = []
        self.imported: list[str] = []
        self.images: dict[str, str] = {}  # ref -> image id
        self._image_labels: dict[str, dict[str, str]] = {}  # image id -> labels
        self._image_ports: dict[str, list[int]] = {}  # image id -> the TCP ports it exposes
        self._containers: dict[str, FakeContainer] = {}  # id -> container
        self._build_failure: tuple[str, list[str]] | None = None
        self._start_failure: str | None = None
        self._ids = itertools.count(1)
        self._free_ports = itertools.count(32768)

    # -- test controls -------------------------------------------------------------------

    def fail_next_build(self, message: str, output: list[str] | None = None) -> None:
        """Make the next build stream `output`, then raise BuildFailed(`message`)."""
        self._build_failure = (message, output or [])

    def fail_next_start(self, message: str) -> None:
        """Make the next `run_container` raise ContainerError(`message`), leaving no container."""
        self._start_failure = message

    def process_exited(self, name_or_id: str, exit_code: int) -> None:
        """Pretend the container's process exited by itself with `exit_code`."""
        self._get(name_or_id).ended(exit_code)

    def append_log(self, name_or_id: str, text: str) -> None:
        """Pretend the container's process wrote `text`."""
        container = self._get(name_or_id)
        container.log += text
        at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        container.lines.extend(LogLine(at, line) for line in text.splitlines())
        container.changed()

    # -- the port ------------------------------------------------------------------------

    async def ping(self) -> EngineInfo:
        self._check()
        return EngineInfo(kind=self.kind, version="fake", api_version="1.41", url="fake://")

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
        self._check()
        self.builds.append(
            FakeBuild(
                context=context,
                tag=tag,
                dockerfile=dockerfile,
                build_args=dict(build_args or {}),
                target=target,
                labels=dict(labels or {}),
            )
        )
        log: list[str] = []

        def say(line: str) -> None:
            log.append(line)
            if on_output is not None:
                on_output(line)

        def fail(message: str) -> BuildFailed:
            return BuildFailed(f"build of {tag} failed: {message}", "".join(f"{x}\n" for x in log))

        path = anyio.Path(context) / dockerfile
        if not await anyio.Path(context).is_dir():
            raise fail(f"context {context} is not a directory")
        if not await path.is_file():
            raise fail(f"Cannot locate specified Dockerfile: {dockerfile}")
        text = await path.read_text()
        steps = _instructions(text)
        for number, instruction, _ in steps:
            if instruction not in _INSTRUCTIONS:
                raise fail(
                    f"dockerfile parse error line {number}: unknown instruction: {instruction}"
                )
        stages = {"scratch"}
        for number, (_, instruction, argument) in enumerate(steps, start=1):
            say(f"Step {number}/{len(steps)} : {instruction} {argument}")
            if instruction == "FROM":
                base, *alias = argument.split()
                if base not in self.images and base not in stages:
                    raise fail(f"pull access denied for {base}: no registry is reachable")
                if len(alias) == 2 and alias[0].upper() == "AS":
                    stages.add(alias[1])
        if self._build_failure is not None:
            (message, output), self._build_failure = self._build_failure, None
            for line in output:
                say(line)
            raise fail(message)
        image_id = _image_id(f"{tag}\n{text}\n{sorted((build_args or {}).items())}")
        say(f"Successfully built {image_id[7:19]}")
        say(f"Successfully tagged {tag}")
        self.images[tag] = image_id
        self._image_labels[image_id] = dict(labels or {})
        self._image_ports[image_id] = _exposed(steps)
        return image_id

    async def import_image(self, tarball: bytes, ref: str, *, cmd: list[str]) -> str:
        self._check()
        self.imported.append(ref)
        self.images[ref] = _image_id(f"{ref}\n{cmd}\n{len(tarball)}")
        return self.images[ref]

    async def image_exists(self, ref: str) -> bool:
        self._check()
        return self._image(ref) is not None

    async def image_id(self, ref: str) -> str | None:
        self._check()
        return self._image(ref)

    async def image_ports(self, ref: str) -> list[int]:
        self._check()
        image_id = self._image(ref)
        if image_id is None:
            raise ContainerError(f"image {ref!r} not found")
        return list(self._image_ports.get(image_id, []))

    async def list_images(self, labels: dict[str, str]) -> list[ImageInfo]:
        self._check()
        found = []
        for image_id in sorted(set(self.images.values())):
            own = self._image_labels.get(image_id, {})
            if all(own.get(key) == value for key, value in labels.items()):
                tags = sorted(ref for ref, i in self.images.items() if i == image_id)
                found.append(ImageInfo(id=image_id, tags=tags, labels=dict(own)))
        return found

    async def remove_image(self, ref: str) -> None:
        self._check()
        image_id = self.images.get(ref)
        if image_id is None:
            return
        last_ref = list(self.images.values()).count(image_id) == 1
        users = [c for c in self._containers.values() if c.image_id == image_id]
        if last_ref and users:
            raise ContainerError(
                f"remove image {ref}: conflict: container {users[0].id[:12]} is using it"
            )
        del self.images[ref]

    async def run_container(self, spec: ContainerSpec) -> ContainerInfo:
        self._check()
        image_id = self._image(spec.image)
        if image_id is None:
            raise ContainerError(f"image {spec.image!r} not found: build it first")
        if any(c.spec.name == spec.name for c in self._containers.values()):
            raise ContainerError(f"run {spec.name}: Conflict. The name is already in use")
        if self._start_failure is not None:
            message, self._start_failure = self._start_failure, None
            raise ContainerError(f"run {spec.name}: {message}")
        if problems := spec_problems(spec):
            raise ContainerError(f"run {spec.name}: " + "; ".join(problems))
        stop_signal_number(spec.stop_signal or "SIGTERM", spec.name)
        networks = self._attach(spec)
        host_ports, bound = self._publish(spec)
        container = FakeContainer(
            id=_image_id(f"container {next(self._ids)}")[7:],
            spec=spec,
            image_id=image_id,
            # Like the engine's: the image's labels, overridden by the container's own.
            labels={**self._image_labels.get(image_id, {}), **spec.labels},
            host_ports=host_ports,
        )
        container.networks = networks
        container.bound = bound
        self._containers[container.id] = container
        self.started.append(spec)
        return container.info()

    async def inspect_container(self, name_or_id: str) -> ContainerInfo | None:
        self._check()
        container = self._find(name_or_id)
        return container.info() if container else None

    async def stop_container(self, name_or_id: str, timeout_s: float | None = None) -> None:
        """Recorded in `stops`; the process ends as one that does not handle its stop signal
        does (128 + the signal's number)."""
        self._check()
        container = self._get(name_or_id)
        if container.state == "running":
            spec = container.spec
            grace = spec.stop_grace_s if timeout_s is None else timeout_s
            signal = spec.stop_signal or "SIGTERM"
            self.stops.append(
                FakeStop(
                    container=spec.name,
                    signal=signal,
                    grace_s=DEFAULT_STOP_GRACE_S if grace is None else grace,
                )
            )
            container.ended(128 + stop_signal_number(signal, spec.name))

    async def start_container(self, name_or_id: str) -> ContainerInfo:
        self._check()
        container = self._get(name_or_id)
        if container.state != "running":
            container.host_ports, container.bound = self._publish(container.spec)
            container.state, container.exit_code = "running", None
            container.health, container.failing = "starting", 0
            container.started_at, container.failed_at = time.monotonic(), None
            container.changed()
        return container.info()

    async def remove_container(self, name_or_id: str, *, force: bool = False) -> None:
        self._check()
        container = self._find(name_or_id)
        if container is None:
            return
        if container.state == "running" and not force:
            raise ContainerError(
                f"remove {name_or_id}: You cannot remove a running container: stop it first"
            )
        del self._containers[container.id]
        container.state = "removed"
        container.changed()

    async def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        self._check()
        found = [
            c.info()
            for c in self._containers.values()
            if all(c.labels.get(key) == value for key, value in labels.items())
        ]
        return sorted(found, key=lambda c: c.name)

    async def container_logs(self, name_or_id: str, tail: int = 100) -> str:
        self._check()
        lines = self._get(name_or_id).log.splitlines(keepends=True)
        return "".join(lines[-tail:] if tail > 0 else [])

    async def log_lines(
        self, name_or_id: str, *, tail: int, since: float | None = None, follow: bool = False
    ) -> AsyncIterator[LogLine]:
        self._check()
        container = self._get(name_or_id)
        lines = [
            line
            for line in container.lines
            if since is None or datetime.fromisoformat(line.at).timestamp() >= since
        ]
        seen = len(container.lines)
        for line in lines[max(len(lines) - tail, 0) :] if tail >= 0 else lines:
            yield line
        while follow:
            for line in container.lines[seen:]:
                yield line
                seen += 1
            if container.state != "running":
                return
            if seen == len(container.lines):
                written = container.written = container.written or anyio.Event()
                await written.wait()

    async def container_stats(self, name_or_id: str) -> ContainerStats:
        """Counters that grow with each reading: 5 ms of CPU and a steady 12 MiB."""
        self._check()
        container = self._get(name_or_id)
        if container.state != "running":
            raise ContainerError(f"stats of {name_or_id}: the container is not running")
        container.cpu_ns += 5_000_000
        return ContainerStats(
            cpu_ns=container.cpu_ns, memory_bytes=12 * 2**20, memory_limit_bytes=None
        )

    async def close(self) -> None:
        self.closed = True

    # -- plumbing ------------------------------------------------------------------------

    def _check(self) -> None:
        if not self.available:
            raise EngineUnavailable("fake engine switched off (FakeRuntime.available = False)")

    def _image(self, ref: str) -> str | None:
        """The id of the image `ref` names: a tag, or (as the engine takes it) an image id."""
        return self.images.get(ref) or (ref if ref in self.images.values() else None)

    def _find(self, name_or_id: str) -> FakeContainer | None:
        for container in self._containers.values():
            if name_or_id in (container.spec.name, container.id):
                return container
        prefixed = [c for c in self._containers.values() if c.id.startswith(name_or_id)]
        return prefixed[0] if len(prefixed) == 1 else None

    def _get(self, name_or_id: str) -> FakeContainer:
        container = self._find(name_or_id)
        if container is None:
            raise ContainerError(f"{name_or_id}: No such container: {name_or_id}")
        return container


def _instructions(dockerfile: str) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, argument) triples, the line where each starts; comments, blank lines
    and `\\` continuations handled."""
    steps: list[tuple[int, str, str]] = []
    pending, starts = "", 0
    for number, raw in enumerate(dockerfile.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        starts = starts or number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        instruction, _, argument = line.partition(" ")
        steps.append((starts, instruction.upper(), argument.strip()))
        starts = 0
    if pending:
        instruction, _, argument = pending.strip().partition(" ")
        steps.append((starts, instruction.upper(), argument.strip()))
    return steps


def _exposed(steps: list[tuple[int, str, str]]) -> list[int]:
    """The TCP ports the last stage's EXPOSE lines declare."""
    last_from = max((i for i, step in enumerate(steps) if step[1] == "FROM"), default=0)
    ports = set()
    for _, instruction, argument in steps[last_from:]:
        if instruction == "EXPOSE":
            for word in argument.split():
                port, _, protocol = word.partition("/")
                if port.isdigit() and protocol in ("", "tcp"):
                    ports.add(int(port))
    return sorted(ports)


def _image_id(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
