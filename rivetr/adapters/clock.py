"""The clock port: where time decides something (a drain deadline, a health check's timing, a
step's duration), it is asked of a `Clock`, so that a test can make it pass at once."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time and sleeping on it."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (a cancellation point even when it is 0)."""
        ...


class SystemClock:
    """The machine's own monotonic clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """Time that passes only when something sleeps: each sleep moves it on at once, so a drain
    or a health check's deadline takes no real time. `slept` records every sleep asked for."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)  # still a point where the sleeper can be cancelled
