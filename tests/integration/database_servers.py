"""Database servers in real containers for the kind tests: start one from a kind's definition on
a named volume, run an `Exec` inside it (its standard input streamed from bytes or a file, its
standard output to memory or a file), and remove everything afterwards. Plain docker SDK: the
runtime port is not what these tests are about. Also which engines a database test runs on, and
its images made ready there once per session."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import docker
import docker.errors
import pytest
from docker import DockerClient
from docker.models.containers import Container
from docker.utils.socket import STDERR, STDOUT, frames_iter

from rivetr.adapters.runtime.detect import PODMAN_SOCKET
from rivetr.domain.database_kinds import Credentials, DatabaseKind, Exec
from tests.database_images import TestImage, ensure_image, ensure_image_in
from tests.engine import TEST_RUN_LABEL

RealEngine = Literal["docker", "podman"]
CHUNK = 64 * 1024
RUN_ID = uuid.uuid4().hex[:10]
_READY: set[tuple[RealEngine, str]] = set()  # (engine, image tag) made ready in this session


# Each database test that runs on both engines takes one of these as its `engine` parameter.
DOCKER = pytest.param("docker", marks=[pytest.mark.integration, pytest.mark.docker])
PODMAN = pytest.param("podman", marks=[pytest.mark.integration, pytest.mark.podman])
on_both_engines = pytest.mark.parametrize("engine", [DOCKER, PODMAN])


def connect_docker() -> DockerClient:
    """The Docker engine; a failure in CI, a skip elsewhere, when it does not answer."""
    return connect_client("docker")


def connect_client(engine: RealEngine) -> DockerClient:
    """The SDK client of `engine` ("docker" from the environment, "podman" at its socket); a
    failure in CI, a skip elsewhere, when it does not answer."""
    try:
        client = docker.from_env() if engine == "docker" else DockerClient(base_url=PODMAN_SOCKET)
        client.ping()
    except docker.errors.DockerException as exc:
        name = engine.capitalize()
        if os.environ.get("CI"):
            pytest.fail(f"CI must test against a real {name} engine: {exc}", pytrace=False)
        pytest.skip(f"no {name} engine reachable: {exc}")
    return client


def images_in(engine: RealEngine, request: pytest.FixtureRequest, *images: TestImage) -> None:
    """`images` ready in `engine`: built in Docker (cached layers), and copied into Podman
    when it is the one; each step's time printed to the terminal, even from a passing test."""
    wanted = [image for image in images if (engine, image.tag) not in _READY]
    if not wanted:
        return  # once per session: even a cached build asks the engine about every layer
    source = connect_docker()
    target = connect_client(engine) if engine == "podman" else None
    capture = request.config.pluginmanager.getplugin("capturemanager")
    try:
        with capture.global_and_fixture_disabled():
            for image in wanted:
                if target is None:
                    ensure_image(source, image)
                else:
                    ensure_image_in(target, source, image)
                _READY.add((engine, image.tag))
    finally:
        for client in (source, target):
            if client is not None:
                client.close()


@dataclass
class Ran:
    """What an exec ended with."""

    exit_code: int
    stdout: bytes
    stderr: bytes

    def ok(self) -> Ran:
        assert self.exit_code == 0, f"exit {self.exit_code}: {self.stderr.decode()[-2000:]}"
        return self


def run_exec(
    container: Container,
    command: Exec,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> Ran:
    """Run `command` in `container`: its stdin is `command.stdin`, else the file `stdin`; its
    stdout goes to the file `stdout` when given (then `Ran.stdout` is empty)."""
    api = container.client.api
    exec_id = api.exec_create(
        container.id, list(command.argv), stdin=True, environment=dict(command.env)
    )["Id"]
    sock: Any = api.exec_start(exec_id, socket=True)
    raw: socket.socket = sock._sock

    def feed() -> None:
        try:
            if command.stdin:
                raw.sendall(command.stdin)
            elif stdin is not None:
                while chunk := stdin.read(CHUNK):
                    raw.sendall(chunk)
        finally:
            raw.shutdown(socket.SHUT_WR)

    # written from a thread: a command that answers while it reads would block the other way
    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out, err = bytearray(), bytearray()
    for stream, data in frames_iter(sock, tty=False):
        if stream == STDOUT:
            if stdout is not None:
                stdout.write(data)
            else:
                out += data
        elif stream == STDERR:
            err += data
    writer.join()
    sock.close()
    return Ran(api.exec_inspect(exec_id)["ExitCode"], bytes(out), bytes(err))


@dataclass
class Server:
    """One database server container and its volume, made from a kind's definition."""

    client: DockerClient
    kind: DatabaseKind
    image: str
    credentials: Credentials
    volume: str = field(default_factory=lambda: f"rivetr-test-db-{uuid.uuid4().hex[:12]}")
    container: Container | None = None

    def start(self, command: tuple[str, ...] | None = None) -> Server:
        """The server running on the volume (made on first use) with the kind's command."""
        argv = command if command is not None else self.kind.command(self.credentials)
        self.container = self.client.containers.run(
            self.image,
            command=list(argv) or None,
            environment=self.kind.container_env(self.credentials),
            volumes={self.volume: {"bind": self.kind.data_dir, "mode": "rw"}},
            labels={TEST_RUN_LABEL: RUN_ID},
            init=True,
            detach=True,
        )
        return self

    def wait_healthy(self, credentials: Credentials | None = None, seconds: float = 120) -> None:
        """Until the kind's health check passes; a failure with its last words after `seconds`."""
        check = self.kind.health_check(credentials or self.credentials)
        deadline = time.monotonic() + seconds
        while True:
            ran = self.run(check)
            if ran.exit_code == 0:
                return
            assert self.live.status != "exited", self.live.logs()[-3000:].decode()
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.kind.name} not healthy: {ran}")
            time.sleep(0.3)

    @property
    def live(self) -> Container:
        assert self.container is not None
        self.container.reload()
        return self.container

    def run(self, command: Exec, **files: IO[bytes]) -> Ran:
        assert self.container is not None
        return run_exec(self.container, command, **files)

    def counts(self, credentials: Credentials | None = None) -> dict[str, int]:
        """The kind's check, run and parsed."""
        creds = credentials or self.credentials
        return self.kind.parse_check(self.run(self.kind.check(creds)).ok().stdout)

    def stop_and_remove(self) -> None:
        if self.container is not None:
            self.container.remove(force=True, v=True)
            self.container = None

    def remove(self) -> None:
        self.stop_and_remove()
        with contextlib.suppress(docker.errors.NotFound):
            self.client.volumes.get(self.volume).remove(force=True)


@dataclass
class Servers:
    """Every server a test module made, removed with their volumes at its end."""

    client: DockerClient
    made: list[Server] = field(default_factory=list)

    def new(self, kind: DatabaseKind, image: str, credentials: Credentials) -> Server:
        server = Server(self.client, kind, image, credentials)
        self.made.append(server)
        return server

    def remove_all(self) -> None:
        for server in self.made:
            server.remove()
