"""Which engine the swarm port speaks to: one handed in (a test's twin), else the engine the
monitor found, when it is Docker (Podman has no swarm mode). The SDK-backed adapter is imported
on first use, as the runtime's is."""

from __future__ import annotations

from rivetr.adapters.runtime.base import ContainerError, EngineInfo, EngineUnavailable
from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.adapters.swarm.base import SwarmEngine


class SwarmEngineFinder:
    def __init__(self, monitor: EngineMonitor, given: SwarmEngine | None = None) -> None:
        self.monitor = monitor
        self.given = given
        self._made: SwarmEngine | None = None
        self._url: str | None = None
        # the engine a CLI process found itself (it runs no monitor)
        self.found: EngineInfo | None = None

    def __call__(self) -> SwarmEngine:
        """Raises EngineUnavailable (no engine answers) or ContainerError (not Docker)."""
        if self.given is not None:
            return self.given
        info = self.monitor.info or self.found
        if info is None:
            raise EngineUnavailable(self.monitor.problem or "no container engine answers yet")
        if info.kind != "docker":
            raise ContainerError(
                f"the engine is {info.kind} {info.version}, which has no swarm mode: servers"
                " need Docker"
            )
        if self._made is None or self._url != info.url:
            from rivetr.adapters.swarm.docker_swarm import DockerSwarm

            self._made, self._url = DockerSwarm(info.url), info.url
        return self._made
