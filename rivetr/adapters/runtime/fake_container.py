"""A container of the in-memory twin (`FakeRuntime`): its spec, state, logs and what runs in it."""

from __future__ import annotations

import signal
import time

import anyio

from rivetr.adapters.runtime.base import (
    ContainerError,
    ContainerInfo,
    ContainerSpec,
    Health,
    LogLine,
)


class FakeContainer:
    def __init__(
        self,
        *,
        id: str,
        spec: ContainerSpec,
        image_id: str,
        labels: dict[str, str],
        host_ports: dict[int, int],
    ) -> None:
        self.id = id
        self.spec = spec
        self.image_id = image_id
        self.labels = labels
        self.host_ports = host_ports
        self.bound: set[tuple[str, int]] = set()  # (protocol, host port) held while running
        self.state = "running"
        self.exit_code: int | None = None
        self.log = ""
        self.lines: list[LogLine] = []
        self.written: anyio.Event | None = None  # set on the next line or stop
        self.cpu_ns = 0
        self.networks: dict[str, list[str]] = {}  # network -> this container's aliases there
        self.execs: list[list[str]] = []  # the argv of each command running in it
        self.health: Health = "starting"
        self.failing = 0  # health checks failed in a row
        self.failed_at: float | None = None  # when the last of those failed
        self.started_at = time.monotonic()

    def changed(self) -> None:
        if self.written is not None:
            self.written.set()
            self.written = None

    def info(self) -> ContainerInfo:
        return ContainerInfo(
            id=self.id,
            name=self.spec.name,
            image=self.spec.image,
            labels=dict(self.labels),
            state=self.state,
            host_ports=dict(self.host_ports),
            exit_code=self.exit_code,
        )

    def ended(self, exit_code: int) -> None:
        """The process exited with `exit_code`: its ports are free again."""
        self.state = "exited"
        self.exit_code = exit_code
        self.host_ports = {}
        self.bound = set()
        self.changed()


def stop_signal_number(name: str, container: str) -> int:
    """The number of stop signal `name` ("SIGQUIT", "QUIT" or "3"), as engines read it.

    Raises:
        ContainerError: no such signal (the engines refuse the container).
    """
    if name.isdigit():
        return int(name)
    try:
        return signal.Signals[name if name.startswith("SIG") else f"SIG{name}"].value
    except KeyError:
        raise ContainerError(f"run {container}: invalid stop signal {name!r}") from None
