"""`DockerRuntime`: the container runtime port over the `docker` SDK, for Docker and Podman alike.

It and the modules it is made of (`docker_engine`, `docker_resources`, `exec_streams`) are the
only ones that import `docker` (~20 MB of resident memory): import it lazily, when an engine is
actually wanted. Every SDK call is blocking and runs in a worker thread; SDK and `requests`
errors become the port's errors in `DockerEngine._translated`, and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import requests.exceptions

from rivetr.adapters.runtime.base import (
    BuildFailed,
    ContainerError,
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    EngineInfo,
    ImageInfo,
    LogLine,
)
from rivetr.adapters.runtime.container_spec import DEFAULT_STOP_GRACE_S, spec_problems
from rivetr.adapters.runtime.docker_answers import (
    BuildLines,
    container_info,
    engine_kind,
    exposed_tcp_ports,
    image_info,
    split_ref,
    vanished,
)
from rivetr.adapters.runtime.docker_create import create_request, start_container
from rivetr.adapters.runtime.docker_engine import explain
from rivetr.adapters.runtime.docker_podman import (
    default_ulimits,
    podman_defaults,
    refuse_held_ports,
)
from rivetr.adapters.runtime.docker_resources import DockerResources
from rivetr.adapters.runtime.exec_streams import DockerExec

T = TypeVar("T")
log = logging.getLogger(__name__)

_FRAME_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")

FOLLOW_BUFFER = 1000  # lines read ahead of a slow reader of a followed log


class DockerRuntime(DockerResources, DockerExec):
    """One Docker or Podman engine reached at `base_url` (`unix:///var/run/docker.sock`...).

    The SDK client is made on first use, in a worker thread: making it asks the engine for its
    API version, so constructing a `DockerRuntime` never blocks nor fails. `kind` forces the
    engine kind `ping()` reports; by default it is read from the engine's version answer.

    Calls are not abandoned on cancellation, they finish first; a cancelled `build_image` cuts
    its connection, which makes the engine stop the build, and returns once its thread let go.
    """

    async def ping(self) -> EngineInfo:
        def ping(client: docker.DockerClient) -> EngineInfo:
            version: dict[str, Any] = client.version()
            return EngineInfo(
                kind=self._kind or engine_kind(version),
                version=str(version.get("Version", "")),
                api_version=str(version.get("ApiVersion", client.api.api_version)),
                url=self.base_url,
            )

        return await self._run("ping", ping)

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
        """Build with the classic builder, streaming each output line to `on_output`.

        `on_output` is called from the worker thread running the build, not from the event
        loop: hand lines over with `anyio.from_thread.run_sync` or a thread-safe queue.
        Nothing is pulled: every `FROM` must name a local image.
        """

        connection = _BuildConnection()

        def build(client: docker.DockerClient) -> str:
            try:
                return streamed_build(client, connection.open(self._another_api(client)))
            finally:
                connection.close()

        def streamed_build(client: docker.DockerClient, api: docker.APIClient) -> str:
            if not context.is_dir():
                raise BuildFailed(f"build of {tag} failed: context {context} is not a directory")
            lines = BuildLines(on_output)
            image_id = None
            try:
                for chunk in api.build(
                    path=str(context),
                    tag=tag,
                    dockerfile=dockerfile,
                    buildargs=build_args or {},
                    target=target,
                    labels=labels or {},
                    decode=True,
                    rm=True,
                    forcerm=True,
                    timeout=None,  # a silent RUN step may take minutes: no read timeout
                ):
                    if "error" in chunk or "errorDetail" in chunk:
                        detail = chunk.get("errorDetail") or {}
                        message = (
                            detail.get("message") or chunk.get("error") or "unknown error"
                        ).strip()
                        lines.flush()
                        raise BuildFailed(f"build of {tag} failed: {message}", lines.text())
                    if isinstance(chunk.get("stream"), str):
                        lines.feed(chunk["stream"])
                    # The id this build made: another build may retag `tag` before we look.
                    if isinstance(chunk.get("aux"), dict) and chunk["aux"].get("ID"):
                        image_id = str(chunk["aux"]["ID"])
            except docker.errors.APIError as exc:  # e.g. a Dockerfile parse error, before output
                lines.flush()
                raise BuildFailed(f"build of {tag} failed: {explain(exc)}", lines.text()) from exc
            lines.flush()
            return image_id or str(client.api.inspect_image(tag)["Id"])

        try:
            return await self._run(f"build {tag}", build, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            connection.cut()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(connection.closed.wait, self._timeout_s)
            raise

    async def import_image(self, tarball: bytes, ref: str, *, cmd: list[str]) -> str:
        repository, tag = split_ref(ref)

        def import_(client: docker.DockerClient) -> str:
            answer = client.api.import_image_from_data(
                tarball, repository=repository, tag=tag, changes=[f"CMD {json.dumps(cmd)}"]
            )
            for line in str(answer).splitlines():
                with suppress(ValueError):
                    status = json.loads(line)
                    if isinstance(status, dict) and status.get("error"):
                        raise ContainerError(f"import {ref}: {status['error']}")
            return str(client.api.inspect_image(ref)["Id"])

        return await self._run(f"import {ref}", import_)

    async def image_exists(self, ref: str) -> bool:
        def exists(client: docker.DockerClient) -> bool:
            try:
                client.api.inspect_image(ref)
            except docker.errors.NotFound:
                return False
            return True

        return await self._run(f"inspect image {ref}", exists)

    async def image_id(self, ref: str) -> str | None:
        def identify(client: docker.DockerClient) -> str | None:
            try:
                found = str(client.api.inspect_image(ref)["Id"])
            except docker.errors.NotFound:
                return None
            return found if found.startswith("sha256:") else f"sha256:{found}"

        return await self._run(f"inspect image {ref}", identify)

    async def image_ports(self, ref: str) -> list[int]:
        def ports(client: docker.DockerClient) -> list[int]:
            try:
                config = client.api.inspect_image(ref).get("Config") or {}
            except docker.errors.NotFound as exc:
                raise ContainerError(f"image {ref!r} not found") from exc
            return exposed_tcp_ports(config.get("ExposedPorts"))

        return await self._run(f"inspect image {ref}", ports)

    async def remove_image(self, ref: str) -> None:
        """Remove `ref`; a missing image is already removed. In use → ContainerError."""

        def remove(client: docker.DockerClient) -> None:
            try:
                client.api.remove_image(ref)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                # an image id removed meanwhile (by another release's clean-up): Docker 20.10
                # says so with a 500, not a 404
                if "unrecognized image ID" not in str(exc.explanation or ""):
                    raise

        await self._run(f"remove image {ref}", remove)

    async def list_images(self, labels: dict[str, str]) -> list[ImageInfo]:
        # Podman 4.3 finds nothing when an image filter names two labels: the engine filters
        # on the first, and the rest are checked here
        first = dict(list(labels.items())[:1])
        filters = {"label": [f"{key}={value}" for key, value in first.items()]}

        def list_(client: docker.DockerClient) -> list[ImageInfo]:
            found = [image_info(summary) for summary in client.api.images(filters=filters)]
            return sorted(
                (i for i in found if all(i.labels.get(k) == v for k, v in labels.items())),
                key=lambda image: image.id,
            )

        return await self._run("list images", list_)

    async def run_container(self, spec: ContainerSpec) -> ContainerInfo:
        """Create and start `spec`; a container that fails to start is removed again."""

        def run(client: docker.DockerClient) -> ContainerInfo:
            try:
                client.api.inspect_image(spec.image)
            except docker.errors.NotFound as exc:
                # Checked first: the engine would turn a missing image into a failed pull.
                raise ContainerError(f"image {spec.image!r} not found: build it first") from exc
            if problems := spec_problems(spec):
                raise ContainerError(f"run {spec.name}: " + "; ".join(problems))
            kind = self._engine_kind(client)
            defaults = None
            if kind == "podman":
                refuse_held_ports(client, spec)
                if spec.ulimits and self._podman_ulimits is None:
                    self._podman_ulimits = default_ulimits(client, spec.image)
                defaults = podman_defaults(client, spec, self._podman_ulimits or {})
            request = create_request(spec, kind, client.api.api_version, defaults)
            return start_container(client, spec, request)

        return await self._run(f"run {spec.name}", run)

    async def inspect_container(self, name_or_id: str) -> ContainerInfo | None:
        def inspect(client: docker.DockerClient) -> ContainerInfo | None:
            try:
                return container_info(client.api.inspect_container(name_or_id))
            except docker.errors.NotFound:
                return None

        return await self._run(f"inspect {name_or_id}", inspect)

    async def stop_container(self, name_or_id: str, timeout_s: float | None = None) -> None:
        """Stop (the stop signal, then SIGKILL after `timeout_s`, or the container's own stop
        timeout); stopping a stopped one is a no-op."""

        def stop(client: docker.DockerClient) -> None:
            seconds = timeout_s
            if seconds is None:
                # asked for, not left to the engine: the HTTP call must wait that long too
                kept = (client.api.inspect_container(name_or_id).get("Config") or {}).get(
                    "StopTimeout"
                )
                seconds = DEFAULT_STOP_GRACE_S if kept is None else float(kept)
            # the engine counts whole seconds
            client.api.stop(name_or_id, timeout=max(0, math.ceil(seconds)))

        await self._run(f"stop {name_or_id}", stop)

    async def start_container(self, name_or_id: str) -> ContainerInfo:
        def start(client: docker.DockerClient) -> ContainerInfo:
            client.api.start(name_or_id)  # a running one: the engine answers 304, no error
            return container_info(client.api.inspect_container(name_or_id))

        return await self._run(f"start {name_or_id}", start)

    async def remove_container(self, name_or_id: str, *, force: bool = False) -> None:
        """Remove a container and its anonymous volumes; a missing one is already removed, and
        one another caller is removing right now (409) is as good as removed."""

        def remove(client: docker.DockerClient) -> None:
            try:
                client.api.remove_container(name_or_id, v=True, force=force)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if exc.status_code != 409 or "already in progress" not in str(exc):
                    raise

        await self._run(f"remove {name_or_id}", remove)

    async def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        """Containers carrying every one of `labels`, sorted by name."""
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}

        def list_(client: docker.DockerClient) -> list[ContainerInfo]:
            found = []
            for summary in client.api.containers(all=True, filters=filters):
                # one removed since the list was made is left out (the SDK's `ignore_removed`
                # knows only Docker's 404 for it)
                try:
                    found.append(container_info(client.api.inspect_container(summary["Id"])))
                except docker.errors.APIError as exc:
                    if not vanished(exc.status_code, explain(exc)):
                        raise
            return sorted(found, key=lambda c: c.name)

        return await self._run("list containers", list_)

    async def container_logs(self, name_or_id: str, tail: int = 100) -> str:
        """The last `tail` lines of stdout and stderr, interleaved as the engine keeps them."""

        def logs(client: docker.DockerClient) -> str:
            raw: bytes = client.api.logs(name_or_id, stdout=True, stderr=True, tail=tail)
            return raw.decode("utf-8", errors="replace")

        return await self._run(f"logs of {name_or_id}", logs)

    async def log_lines(
        self, name_or_id: str, *, tail: int, since: float | None = None, follow: bool = False
    ) -> AsyncIterator[LogLine]:
        """The engine's log stream, read by a thread of its own (a followed stream blocks for as
        long as the container is silent, so it must not hold one of the shared worker threads),
        handed over through a bounded queue: a reader that does not keep up holds the thread,
        and the thread holds the engine, rather than lines piling up here."""

        def open_stream(client: docker.DockerClient) -> Any:
            return client.api.logs(
                name_or_id,
                stdout=True,
                stderr=True,
                stream=True,
                follow=follow,
                timestamps=True,
                tail="all" if tail < 0 else tail,
                since=since,
            )

        raw = await self._run(f"logs of {name_or_id}", open_stream)
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[LogLine | None] = asyncio.Queue(FOLLOW_BUFFER)
        reading = threading.Thread(
            target=_pump_log, args=(raw, lines, loop), name=f"logs {name_or_id}", daemon=True
        )
        reading.start()
        try:
            while (line := await lines.get()) is not None:
                yield line
        finally:
            raw.close()  # ends the thread's blocked read
            while not lines.empty():  # and a put it may be waiting on
                lines.get_nowait()

    async def container_stats(self, name_or_id: str) -> ContainerStats:
        def stats(client: docker.DockerClient) -> ContainerStats:
            # one reading, at once: without one_shot the engine waits a second for a second
            try:
                raw: dict[str, Any] = client.api.stats(name_or_id, stream=False, one_shot=True)
            except requests.exceptions.JSONDecodeError:  # Podman: an empty answer
                raise ContainerError(f"stats of {name_or_id}: no reading (not running?)") from None
            if str(raw.get("read", "")).startswith("0001-") or not raw.get("cpu_stats"):
                # Docker answers a stopped container with an empty, zero-time reading
                raise ContainerError(f"stats of {name_or_id}: the container is not running")
            return _stats(raw)

        return await self._run(f"stats of {name_or_id}", stats)


class _BuildConnection:
    """A build's own API client and the HTTP response it streams from, so that a cancelled
    build can be cut off from another thread: the engine stops a build whose client went away.
    Its own client, because a response hook on the shared one would see every call's answer."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._api: docker.APIClient | None = None
        self._response: requests.Response | None = None
        self._cut = False

    def open(self, api: docker.APIClient) -> docker.APIClient:
        api.hooks["response"].append(self._hook)
        self._api = api
        return api

    def _hook(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        with self._lock:
            self._response = response
            if self._cut:
                self._shutdown()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            self._shutdown()

    def _shutdown(self) -> None:
        connection = getattr(getattr(self._response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with suppress(OSError):  # already closed: nothing to cut
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
        self.closed.set()


def _stats(raw: dict[str, Any]) -> ContainerStats:
    """The engine's stats document as counters (Docker's and Podman's shapes, cgroup v1 or v2)."""
    cpu = raw.get("cpu_stats") or {}
    memory = raw.get("memory_stats") or {}
    details = memory.get("stats") or {}
    # what `docker stats` shows: usage less the inactive page cache (cgroup v2: inactive_file)
    cache = details.get("inactive_file", details.get("total_inactive_file", 0))
    limit = memory.get("limit")
    machine = details.get("hierarchical_memory_limit")
    return ContainerStats(
        cpu_ns=int((cpu.get("cpu_usage") or {}).get("total_usage", 0)),
        memory_bytes=max(int(memory.get("usage", 0)) - int(cache), 0),
        memory_limit_bytes=int(limit) if limit and limit != machine and limit < 2**62 else None,
    )


def _pump_log(
    raw: Any, lines: asyncio.Queue[LogLine | None], loop: asyncio.AbstractEventLoop
) -> None:
    """Read an engine log stream to its end (or until it is closed under us) into `lines`."""
    try:
        for line in _split_log(raw):
            asyncio.run_coroutine_threadsafe(lines.put(line), loop).result()
    except Exception:  # closed by the reader, or the engine went away: the stream just ends
        log.debug("a container log stream ended early", exc_info=True)
    finally:
        with suppress(RuntimeError):  # the loop is gone: so is the reader
            loop.call_soon_threadsafe(_end_of_log, lines)


def _end_of_log(lines: asyncio.Queue[LogLine | None]) -> None:
    with suppress(asyncio.QueueFull):  # full only when the reader has left, draining it
        lines.put_nowait(None)


def _split_log(chunks: Iterable[bytes]) -> Iterator[LogLine]:
    """Lines out of the engine's log frames. Each line comes as "<RFC 3339 time> <text>\n";
    a line longer than the engine's buffer (16 KB) comes as several frames, each with its
    own time and only the last ending the line, so a time that starts a frame in mid-line
    is dropped and the line keeps its first."""
    at: str | None = None  # the time of the line being read; None: at a line's start
    text = b""
    for chunk in chunks:
        if at is not None and (stamp := _FRAME_TIME.match(chunk)):
            chunk = chunk[stamp.end() :]  # a long line's next frame
        while chunk:
            if at is None:
                stamp = _FRAME_TIME.match(chunk)
                at = chunk[: stamp.end() - 1].decode() if stamp else ""
                chunk = chunk[stamp.end() :] if stamp else chunk
            end = chunk.find(b"\n")
            if end < 0:
                text += chunk
                break
            yield LogLine(at, (text + chunk[:end]).decode("utf-8", errors="replace"))
            at, text, chunk = None, b"", chunk[end + 1 :]
    if at is not None and text:
        yield LogLine(at, text.decode("utf-8", errors="replace"))
