"""A container of the in-memory twin (`FakeRuntime`): its spec, state, logs and what runs in it."""

from __future__ import annotations

import time

import anyio

from rivetr.adapters.runtime.base import ContainerInfo, ContainerSpec, Health, LogLine


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
        self.state = "running"
        self.log = ""
        self.lines: list[LogLine] = []
        self.written: anyio.Event | None = None  # set on the next line or stop
        self.cpu_ns = 0
        self.networks: dict[str, list[str]] = {}  # network -> this container's aliases there
        self.execs: list[list[str]] = []  # the argv of each command running in it
        self.health: Health = "starting"
        self.failing = 0  # health checks failed in a row
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
        )
