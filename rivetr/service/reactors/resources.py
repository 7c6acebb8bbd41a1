"""CPU and memory of each app's live container, sampled from the engine every `interval_s` and
kept in a bounded ring per app: a dashboard chart, not a fact, so never in the event log (a
restart starts the rings empty)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

import anyio
import msgspec

from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable
from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.projections.registry import ReadModel

log = logging.getLogger(__name__)

KEEP = 240  # samples per app: an hour at the default 15 s


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    at: str
    deployment_id: str
    cpu_percent: float  # of one core, over the interval before `at`
    memory_mb: float
    memory_limit_mb: float | None


class Reading(msgspec.Struct, frozen=True):
    """A live container's last reading as the engine gave it: what /metrics reports."""

    container: str
    cpu_ns: int  # CPU time used since it started
    taken: float  # monotonic seconds
    app: str = ""  # its app's name
    memory_bytes: int = 0
    memory_limit_bytes: int | None = None


class ResourceSampler:
    def __init__(
        self,
        engine: EngineMonitor,
        read: ReadModel,
        interval_s: float = 15.0,
        keep: int = KEEP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.read = read
        self.interval_s = interval_s
        self.keep = keep
        self.clock = clock
        self.samples: dict[str, deque[Sample]] = {}
        self._last: dict[str, Reading] = {}

    def of(self, app_id: str) -> list[Sample]:
        return list(self.samples.get(app_id, ()))

    def latest(self) -> dict[str, Reading]:
        """Each app's (by id) live container as last read."""
        return dict(self._last)

    async def run(self) -> None:
        while True:
            await self.sample()
            await anyio.sleep(self.interval_s)

    async def sample(self) -> None:
        """One reading of every live container; a rate once a container has two."""
        runtime = self.engine.runtime
        if runtime is None:
            return
        live = {r.app_id: r for r in await self.read.deployments.releases() if r.container_name}
        for app in [a for a in self.samples if a not in live]:
            del self.samples[app]  # deleted, or nothing live: its chart goes
            self._last.pop(app, None)
        for app, release in live.items():
            container = release.container_name
            assert container is not None
            try:
                stats = await runtime.container_stats(container)
            except (ContainerError, EngineUnavailable) as exc:
                log.debug("no stats for %s: %s", container, exc)
                self._last.pop(app, None)
                continue
            taken = self.clock()
            previous = self._last.get(app)
            limit = stats.memory_limit_bytes
            self._last[app] = Reading(
                container, stats.cpu_ns, taken, release.app, stats.memory_bytes, limit
            )
            if previous is None or previous.container != container or taken <= previous.taken:
                continue  # a first reading of this container: no rate yet
            cpu = (stats.cpu_ns - previous.cpu_ns) / ((taken - previous.taken) * 1e9) * 100
            ring = self.samples.setdefault(app, deque(maxlen=self.keep))
            ring.append(
                Sample(
                    at=datetime.now(UTC).isoformat(timespec="seconds"),
                    deployment_id=release.deployment_id,
                    cpu_percent=round(max(cpu, 0.0), 2),
                    memory_mb=round(stats.memory_bytes / 2**20, 1),
                    memory_limit_mb=round(limit / 2**20, 1) if limit else None,
                )
            )
