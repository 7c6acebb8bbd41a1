"""`FakeProber`: an in-memory twin of the health port. Each port answers what a test scripted
for it, and the waiting is the real one (same attempts, same deadline, same summaries) on a
clock the test may make pass at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rivetr.adapters.clock import Clock, FakeClock
from rivetr.adapters.health.base import ProbeAnswer, ProbeResult
from rivetr.adapters.health.probe import wait_until_healthy
from rivetr.domain.settings import HealthCheck

REFUSED = None  # an answer meaning nothing listens on the port


class FakeProber:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.probed: list[int] = []  # every port probed, in order
        self._answers: dict[int, list[int | None]] = {}
        self._otherwise: list[int | None] = [REFUSED]

    def answer(self, port: int, *statuses: int | None) -> None:
        """Make `port` answer `statuses` to its next probes, in order, the last one for good
        (`REFUSED`: nothing listens)."""
        self._answers[port] = list(statuses)

    def otherwise(self, *statuses: int | None) -> None:
        """What each port not scripted yet answers from its first probe on, as `answer` says
        (a port probed before keeps its own script). At first: `REFUSED`."""
        self._otherwise = list(statuses)

    async def probe(self, port: int, check: HealthCheck, *, host: str | None = None) -> ProbeAnswer:
        return await self._probe(
            host or "", port, check.path, expected_status=check.expected_status, timeout_s=0
        )

    async def wait_until_healthy(
        self,
        port: int,
        check: HealthCheck,
        *,
        on_probe: Callable[[ProbeResult], Awaitable[None]] | None = None,
        is_running: Callable[[], Awaitable[bool]] | None = None,
        host: str | None = None,
    ) -> tuple[bool, str]:
        return await wait_until_healthy(
            host or "",
            port,
            check,
            on_probe=on_probe,
            is_running=is_running,
            clock=self.clock.monotonic,
            sleep=self.clock.sleep,
            probe=self._probe,
        )

    async def _probe(
        self, host: str, port: int, path: str, *, expected_status: int, timeout_s: float
    ) -> ProbeAnswer:
        self.probed.append(port)
        script = self._answers.setdefault(port, list(self._otherwise))
        status = script.pop(0) if len(script) > 1 else script[0]
        if status is None:
            return False, None, "connection refused"
        if status != expected_status:
            return False, status, f"expected {expected_status}, got {status}"
        return True, status, None
