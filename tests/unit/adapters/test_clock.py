"""The clock port's two clocks agree on what they promise: the time of day is UTC and moves on
with the monotonic clock; the twin's time passes only when something sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rivetr.adapters.clock import Clock, FakeClock, SystemClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("clock", [SystemClock(), FakeClock()], ids=["system", "fake"])
async def test_the_time_of_day_is_utc_and_moves_with_the_monotonic_clock(clock: Clock) -> None:
    day, since = clock.now(), clock.monotonic()
    await clock.sleep(0.01)
    assert day.tzinfo == UTC
    assert clock.monotonic() - since >= 0.01
    assert clock.now() - day >= timedelta(seconds=0.01)


async def test_the_twins_time_passes_only_when_something_sleeps() -> None:
    clock = FakeClock(day=datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    await clock.sleep(3600)
    clock.advance(60)
    assert clock.now() == datetime(2026, 1, 1, 1, 1, tzinfo=UTC)
    assert clock.slept == [3600]
