"""Running the real `rivetr` command: the service as a subprocess on a free port, and the CLI."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import httpx
import pytest

from tests.net import free_port

if TYPE_CHECKING:
    from tests.e2e.served_app import Rivetr


def rivetr_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "rivetr.cli", *args]


def run_cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        rivetr_command(*args, "--data-dir", str(data_dir))
        if args[0] != "serve"
        else rivetr_command(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def create_admin(data_dir: Path, email: str, password: str) -> None:
    """The instance's owner account, made by the CLI as a person would (the password on stdin)."""
    made = subprocess.run(
        rivetr_command("users", "create-admin", "--email", email, "--data-dir", str(data_dir)),
        input=f"{password}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr


class Server:
    """`rivetr serve` in a subprocess; `stop(kill=True)` is a SIGKILL, no clean shutdown."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, python: str = sys.executable
    ) -> None:
        """`python`: the interpreter whose `rivetr` runs (an older release's venv's)."""
        self.data_dir = data_dir
        self.env = env or {}
        self.python = python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proxy_port = free_port()
        while self.proxy_port == self.port:  # the kernel may hand out a freed port again
            self.proxy_port = free_port()
        self.proxy_url = f"http://127.0.0.1:{self.proxy_port}"
        self.tls_port = free_port()
        while self.tls_port in (self.port, self.proxy_port):
            self.tls_port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self.log = data_dir.parent / f"serve-{self.port}.log"

    def start(self) -> Server:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)  # the service makes its own
        command = ["serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        self.process = subprocess.Popen(
            [self.python, "-m", "rivetr.cli", *command],
            # from the data directory's parent, not the checkout: `-m` would import the
            # checkout's rivetr over the interpreter's own
            cwd=self.data_dir.parent,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
            env={
                **self.inherited(),
                "RIVETR_POLL_INTERVAL_S": "0.2",
                "RIVETR_PROXY_HOST": "127.0.0.1",
                "RIVETR_PROXY_HTTP_PORT": str(self.proxy_port),
                "RIVETR_PROXY_HTTPS_PORT": str(self.tls_port),
                "RIVETR_ACME_AUTO": "false",  # no CA to reach from the tests' fake domains
                # the tests' repositories, made beside the data directory
                "RIVETR_GIT_LOCAL_DIRS": str(self.data_dir.parent),
                **self.env,
            },
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rivetr serve exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"rivetr serve did not answer in 30 s:\n{self.log.read_text()}")

    def inherited(self) -> dict[str, str]:
        """This process's environment, less a PYTHONPATH that would put this checkout's
        rivetr before another interpreter's own (an older release's)."""
        if self.python == sys.executable:
            return dict(os.environ)
        return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.process.wait(timeout=20)

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[Server]]:
    started: list[Server] = []

    class Tracked(Server):
        def start(self) -> Server:
            started.append(self)
            return super().start()

    yield Tracked
    for server in started:
        server.stop(kill=True)
    for server in started:
        remove_release_containers(server.data_dir)


def remove_release_containers(data_dir: Path) -> None:
    """The containers the releases of this data directory's log left running: a stopped
    `rivetr serve` leaves its apps up, as it should, but a test's must not outlive it (they
    would load every later test of the run)."""
    log = data_dir / "events.db"
    if not log.exists():
        return
    conn = sqlite3.connect(log)
    try:
        streams = [row[0] for row in conn.execute("SELECT DISTINCT stream_id FROM events")]
    finally:
        conn.close()
    labels = [
        f"rivetr.deployment={stream.removeprefix('deployment-')}"
        for stream in streams
        if stream.startswith("deployment-")
    ] + [
        f"rivetr.stack_release={stream.removeprefix('stack-release-')}"
        for stream in streams
        if stream.startswith("stack-release-")
    ]
    if not labels:
        return
    with contextlib.suppress(docker.errors.DockerException):
        client = docker.from_env()
        try:
            for label in labels:
                for container in client.containers.list(all=True, filters={"label": label}):
                    container.remove(force=True)
        finally:
            client.close()


# the Chromium tests' fixtures, shared by every browser test of this folder
from tests.e2e.browser import axe_script, browser  # noqa: E402

__all__ = ["axe_script", "browser", "create_admin", "rivetr_command", "run_cli", "server_factory"]


@pytest.fixture
def rivetr(tmp_path: Path, server_factory: type[Server]) -> Iterator[Rivetr]:
    """One app on a real `rivetr serve` and the real engine (tests/e2e/served_app.py)."""
    from tests.e2e.served_app import Rivetr  # it builds on this module's Server

    started = Rivetr(tmp_path, server_factory)
    try:
        yield started
    finally:
        started.cleanup()
