"""The host sampler: averages each metric over the window once the readings span it, records a
crossing once and a recovery once, folds what stands raised back from the log after a restart,
and shrugs off a host it cannot read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rivetr.adapters.clock import FakeClock
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.host import FakeHost
from rivetr.config import Settings
from rivetr.domain.host_thresholds import STREAM, HostThreshold
from rivetr.service.reactors.host_sampler import HostSampler, thresholds_of

pytestmark = pytest.mark.anyio
GiB = 2**30
DISK = HostThreshold(metric="disk", percent=90.0, margin=5.0, window_s=60.0)
CPU = HostThreshold(metric="cpu", percent=80.0, margin=10.0, window_s=60.0)


@pytest.fixture
async def store() -> AsyncIterator[InMemoryEventStore]:
    opened = InMemoryEventStore()
    yield opened
    await opened.close()


def sampler(store: InMemoryEventStore, host: FakeHost, clock: FakeClock) -> HostSampler:
    return HostSampler(store, host, [DISK, CPU], clock, interval_s=10.0, window_s=60.0)


async def sample_for(watcher: HostSampler, clock: FakeClock, seconds: float) -> None:
    for _ in range(int(seconds // watcher.interval_s)):
        await watcher.sample()
        clock.advance(watcher.interval_s)


def disk_used(host: FakeHost, percent: float) -> None:
    host.set(disk_total_bytes=100 * GiB, disk_available_bytes=int((100 - percent) * GiB))


async def logged(store: InMemoryEventStore) -> list[tuple[str, str, float]]:
    return [
        (e.type, e.event.metric, e.event.value)  # type: ignore[union-attr]
        for e in await store.read_stream(STREAM)
    ]


async def test_a_full_disk_is_raised_once_and_recovered_once(store) -> None:
    host, clock = FakeHost(), FakeClock()
    watcher = sampler(store, host, clock)
    disk_used(host, 95.0)

    await sample_for(watcher, clock, 50)
    assert await logged(store) == []  # the window is not spanned yet: Rivetr's boot is no alert
    await sample_for(watcher, clock, 300)
    assert await logged(store) == [("host.threshold_crossed", "disk", 95.0)]

    disk_used(host, 88.0)  # below the threshold, within the margin: nothing
    await sample_for(watcher, clock, 300)
    disk_used(host, 50.0)
    await sample_for(watcher, clock, 300)

    events = await logged(store)
    assert [kind for kind, _, _ in events] == ["host.threshold_crossed", "host.threshold_recovered"]
    assert events[1][2] < 85.0


async def test_a_restart_folds_the_raised_metric_back_and_raises_nothing_again(store) -> None:
    host, clock = FakeHost(), FakeClock()
    disk_used(host, 95.0)
    await sample_for(sampler(store, host, clock), clock, 120)
    assert len(await logged(store)) == 1

    again = sampler(store, host, clock)  # a new process: nothing in memory
    await sample_for(again, clock, 300)
    assert len(await logged(store)) == 1
    disk_used(host, 10.0)
    await sample_for(again, clock, 300)
    assert [kind for kind, _, _ in await logged(store)][-1] == "host.threshold_recovered"


async def test_cpu_is_busy_time_over_the_window_not_one_spike(store) -> None:
    host, clock = FakeHost(), FakeClock()
    watcher = sampler(store, host, clock)
    busy = total = 0.0
    for step in range(30):  # 10 s steps: busy 50 %, but one step at 100 %
        share = 1.0 if step == 20 else 0.5
        busy, total = busy + 10 * share, total + 10
        host.set(cpu_busy_s=busy, cpu_total_s=total)
        await watcher.sample()
        clock.advance(10)
    assert await logged(store) == []
    assert watcher.averages()["cpu"] == pytest.approx(50.0)

    for _ in range(10):  # then busy 90 % for a minute and more
        busy, total = busy + 9, total + 10
        host.set(cpu_busy_s=busy, cpu_total_s=total)
        await watcher.sample()
        clock.advance(10)
    [(kind, metric, value)] = await logged(store)  # raised as the average passed 80 %, once
    assert (kind, metric) == ("host.threshold_crossed", "cpu")
    assert 80.0 <= value < 90.0


async def test_a_host_that_cannot_be_read_is_skipped(store) -> None:
    host, clock = FakeHost(), FakeClock()
    host.failing = OSError("no /proc here")
    watcher = sampler(store, host, clock)
    await sample_for(watcher, clock, 300)
    assert await logged(store) == []
    assert watcher.averages() == {}


def test_the_thresholds_are_those_the_settings_set() -> None:
    assert thresholds_of(Settings()) == []
    found = thresholds_of(
        Settings(host_disk_percent=90, host_cpu_percent=75, host_margin_percent=2, host_window_s=60)
    )
    assert found == [
        HostThreshold(metric="disk", percent=90, margin=2, window_s=60),
        HostThreshold(metric="cpu", percent=75, margin=2, window_s=60),
    ]
