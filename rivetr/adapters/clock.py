"""The clock port: where time decides something (a drain deadline, a health check's timing, a
step's duration, when a certificate is due), it is asked of a `Clock`, so that a test can make
it pass at once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Monotonic time and sleeping on it, and the time of day."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (a cancellation point even when it is 0)."""
        ...

    def now(self) -> datetime:
        """The time of day, in UTC: what a certificate's validity is compared with."""
        ...


class SystemClock:
    """The machine's own monotonic clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """Time that passes only when something sleeps: each sleep moves it on at once, so a drain
    or a health check's deadline takes no real time. `slept` records every sleep asked for."""

    def __init__(self, start: float = 0.0, day: datetime | None = None) -> None:
        self.elapsed = start
        self.day = day or datetime.now(UTC)  # the time of day when `elapsed` was `start`
        self.start = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)  # still a point where the sleeper can be cancelled

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, as if slept."""
        self.elapsed += max(0.0, seconds)

    def now(self) -> datetime:
        return self.day + timedelta(seconds=self.elapsed - self.start)
