"""The storage watch on the in-memory log and a pretend disk: a full disk gives its reserve
back and is recorded once; its recovery is recorded once, only when there is room to spare, and
the reserve is made again; a read-only disk is recorded once it takes writes; a restart raises
nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters.clock import FakeClock
from rivetr.adapters.eventstore.faults import StorageFault, standing
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain.host_events import HostStorageFailed, HostStorageRecovered
from rivetr.service.reactors.storage_watch import RESERVE, SPARE, STREAM, StorageWatch

pytestmark = pytest.mark.anyio
RESERVE_BYTES = 4096


class Disk:
    def __init__(self, free: int) -> None:
        self.free = free

    def __call__(self) -> int:
        return self.free


def watch(store: InMemoryEventStore, tmp_path: Path, disk: Disk) -> StorageWatch:
    return StorageWatch(store, tmp_path, FakeClock(), RESERVE_BYTES, free_bytes=disk)


def fail(store: InMemoryEventStore, tmp_path: Path, kind: str = "full", appends: int = 3) -> None:
    fault = StorageFault(kind, tmp_path / "events.db", "database or disk is full", "not_recorded")  # type: ignore[arg-type]
    store.fault = standing(store.fault, fault, appends)
    store.refusals += appends


async def recorded(store: InMemoryEventStore) -> list[object]:
    return [r.event for r in await store.read_stream(STREAM)]


async def test_a_full_disk_gives_back_its_reserve_and_is_recorded_once_then_its_recovery(
    tmp_path: Path,
) -> None:
    store, disk = InMemoryEventStore(), Disk(free=10 * SPARE)
    watcher = watch(store, tmp_path, disk)
    await watcher.check()
    assert (tmp_path / RESERVE).stat().st_size == RESERVE_BYTES  # made while there is room

    disk.free = 0
    fail(store, tmp_path)
    await watcher.check()
    await watcher.check()  # still full: nothing more

    assert not (tmp_path / RESERVE).exists()
    [failed] = await recorded(store)
    assert isinstance(failed, HostStorageFailed)
    assert (failed.kind, failed.folder) == ("full", str(tmp_path))

    store.fault = None  # the failure's own append went through, in the reserve's room
    fail(store, tmp_path, appends=2)  # and more changes were refused after it
    store.fault = None
    disk.free = RESERVE_BYTES + SPARE - 1  # not room enough to count as recovered
    await watcher.check()
    assert len(await recorded(store)) == 1

    disk.free = 10 * SPARE
    await watcher.check()
    _, back = await recorded(store)
    assert isinstance(back, HostStorageRecovered)
    assert (back.refused, back.since) == (5, failed.since)
    assert (tmp_path / RESERVE).exists()
    await watcher.check()
    assert len(await recorded(store)) == 2


async def test_a_read_only_disk_is_recorded_once_it_takes_writes_with_its_recovery(
    tmp_path: Path,
) -> None:
    store, disk = InMemoryEventStore(), Disk(free=10 * SPARE)
    watcher = watch(store, tmp_path, disk)
    fail(store, tmp_path, kind="read_only")
    real_append = store.append

    async def refused(*_: object) -> None:
        raise StorageFault("read_only", tmp_path / "events.db", "readonly", "not_recorded")

    store.append = refused  # type: ignore[method-assign]
    await watcher.check()
    assert await recorded(store) == []

    store.append = real_append  # type: ignore[method-assign]
    store.fault = None
    await watcher.check()
    failed, back = await recorded(store)
    assert isinstance(failed, HostStorageFailed)
    assert isinstance(back, HostStorageRecovered)
    assert failed.kind == back.kind == "read_only"


async def test_a_restart_during_a_standing_fault_records_it_once(tmp_path: Path) -> None:
    store, disk = InMemoryEventStore(), Disk(free=0)
    fail(store, tmp_path)
    await watch(store, tmp_path, disk).check()

    again = watch(store, tmp_path, disk)
    again.clock.sleep = _stop  # type: ignore[method-assign]
    with pytest.raises(_Stopped):
        await again.run()  # folds what stands from the log, looks once

    assert len(await recorded(store)) == 1
    assert again.raised is not None


class _Stopped(Exception):
    pass


async def _stop(_: float) -> None:
    raise _Stopped
