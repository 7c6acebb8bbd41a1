"""Watches the host's disk, memory and CPU against the thresholds set (host_*_percent): reads
the host every `interval_s` (three small reads of /proc and statvfs, then sleep: near nothing
when idle), averages each metric over the window, and records what `domain.host_thresholds`
decides: a crossing once, a recovery once. Which metrics stand raised is folded from the log
on start, so a restart raises nothing again."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.adapters.host import HostProbe, HostReading, cpu_percent
from rivetr.config import Settings
from rivetr.domain import host_thresholds
from rivetr.domain.host_events import HostMetric
from rivetr.domain.host_thresholds import HostAlerts, HostThreshold

log = logging.getLogger(__name__)
META = EventMeta(actor="system:host-sampler")


class HostSampler:
    def __init__(
        self,
        store: EventStore,
        probe: HostProbe,
        thresholds: Sequence[HostThreshold],
        clock: Clock,
        interval_s: float = 30.0,
        window_s: float = 300.0,
    ) -> None:
        self.store = store
        self.probe = probe
        self.thresholds = list(thresholds)
        self.clock = clock
        self.interval_s = interval_s
        self.window_s = window_s
        # (when, reading), oldest first: the window's, and the last one before it (CPU's base)
        self.readings: deque[tuple[float, HostReading]] = deque()
        self.alerts: HostAlerts | None = None  # folded from the log when first needed

    async def run(self) -> None:
        while True:
            await self.sample()
            await self.clock.sleep(self.interval_s)

    async def sample(self) -> None:
        """One reading; once a whole window has been read, each threshold decided on its
        average."""
        try:
            reading = self.probe.read()
        except OSError as exc:
            log.debug("the host cannot be read: %s", exc)
            return
        now = self.clock.monotonic()
        readings = self.readings
        readings.append((now, reading))
        while len(readings) > 1 and readings[1][0] <= now - self.window_s:
            readings.popleft()
        averages = self.averages()
        for threshold in self.thresholds:
            value = averages.get(threshold.metric)
            if value is not None:
                await self._decide(threshold, value)

    def averages(self) -> dict[str, float]:
        """Each metric's average over the window, once the readings span it (a spike at start,
        Rivetr's own boot, raises nothing); {} before."""
        readings = self.readings
        if not readings or readings[0][0] > readings[-1][0] - self.window_s:
            return {}
        within = [reading for _, reading in list(readings)[1:]] or [readings[-1][1]]
        found = {
            "disk": sum(r.disk_percent for r in within) / len(within),
            "memory": sum(r.memory_percent for r in within) / len(within),
        }
        cpu = cpu_percent(readings[0][1], readings[-1][1])
        if cpu is not None:
            found["cpu"] = cpu
        return found

    async def _decide(self, threshold: HostThreshold, value: float) -> None:
        async def attempt() -> None:
            alerts = self.alerts
            if alerts is None:
                alerts = host_thresholds.fold(
                    logged.event for logged in await self.store.read_stream(host_thresholds.STREAM)
                )
            events = host_thresholds.decide(alerts, threshold, value)
            if events:
                self.alerts = None  # read again if the append meets a concurrent writer
                await self.store.append(host_thresholds.STREAM, alerts.version, events, META)
                for event in events:
                    alerts = host_thresholds.evolve(alerts, event)
                    log.warning("host %s: %s", threshold.metric, event)
            self.alerts = alerts

        await retry_on_conflict(attempt)


def thresholds_of(settings: Settings) -> list[HostThreshold]:
    """The thresholds the settings set (one unset is not watched)."""
    given: dict[HostMetric, float | None] = {
        "disk": settings.host_disk_percent,
        "memory": settings.host_memory_percent,
        "cpu": settings.host_cpu_percent,
    }
    return [
        HostThreshold(
            metric=metric,
            percent=percent,
            margin=settings.host_margin_percent,
            window_s=settings.host_window_s,
        )
        for metric, percent in given.items()
        if percent is not None
    ]
