"""Watches whether the log can be written, and records it: `host.storage_failed` once when the
disk under the data refuses writes, `host.storage_recovered` once when it takes them again with
room to spare; the notifier tells the instance's channels of both.

A full disk cannot take the event that says so. Rivetr keeps a reserve file in the data
directory (`storage_reserve_kib`) and gives its room back the moment the disk is found full, so
the failure can be recorded and told; the reserve is made again once the disk has room for it
and more. Which fault stands is folded from the log on start, so a restart tells nothing twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.eventstore.faults import StorageFault
from rivetr.domain.event_base import Event
from rivetr.domain.host_events import HostStorageFailed, HostStorageRecovered

log = logging.getLogger(__name__)
META = EventMeta(actor="system:storage-watch")
STREAM = "host-storage"
RESERVE = "storage.reserve"
# beyond the reserve, the room the disk must have before it counts as recovered: a disk that
# has just enough for the reserve would fill again at the next write
SPARE = 1024 * 1024
_CHUNK = 64 * 1024


def raised_of(events: Iterable[Event]) -> HostStorageFailed | None:
    """The failure standing in the history of the host-storage stream, if any."""
    raised: HostStorageFailed | None = None
    for event in events:
        if isinstance(event, HostStorageFailed):
            raised = event
        elif isinstance(event, HostStorageRecovered):
            raised = None
    return raised


class StorageWatch:
    def __init__(
        self,
        store: EventStore,
        data_dir: Path,
        clock: Clock,
        reserve_bytes: int,
        free_bytes: Callable[[], int] | None = None,
        interval_s: float = 5.0,
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.clock = clock
        self.reserve_bytes = reserve_bytes
        self.free_bytes = free_bytes or free_bytes_of(data_dir)
        self.interval_s = interval_s
        self.raised: HostStorageFailed | None = None  # recorded, not yet recovered
        self.pending: HostStorageFailed | None = None  # seen, not yet recorded
        self.version = 0
        self.refused_before = 0  # the store's refusals when the standing fault began

    @property
    def reserve(self) -> Path:
        return self.data_dir / RESERVE

    async def run(self) -> None:
        history = await self.store.read_stream(STREAM)
        self.version = len(history)
        self.raised = raised_of(recorded.event for recorded in history)
        while True:
            self.store.fault_seen.clear()  # before looking: a refusal after it wakes the wait
            await self.check()
            if self.raised is None and self.pending is None and self.store.fault is None:
                await self.store.fault_seen.wait()  # nothing to watch for: no wake-ups at idle
            else:
                await self.clock.sleep(self.interval_s)

    async def check(self) -> None:
        """One look: record a fault not yet recorded, or a recovery, as far as the disk lets."""
        fault = self.store.fault
        if self.raised is None:
            if fault is not None and self.pending is None:
                if fault.fault.kind == "full":
                    self._give_back_reserve()
                self.refused_before = self.store.refusals - fault.refused
                self.pending = HostStorageFailed(
                    kind=fault.fault.kind,
                    folder=str(self.data_dir),
                    reason=fault.fault.reason[:1000],
                    since=fault.since,
                )
            if self.pending is None:
                self._keep_reserve()
                return
            # a fault seen but not yet recorded is recorded even if it has cleared meanwhile
            if await self._record(self.pending):
                self.raised, self.pending = self.pending, None
        if self.raised is not None and fault is None and self._has_room(self.raised):
            recovered = HostStorageRecovered(
                kind=self.raised.kind,
                folder=self.raised.folder,
                refused=max(self.store.refusals - self.refused_before, 0),
                since=self.raised.since,
            )
            self._keep_reserve()
            if await self._record(recovered):
                self.raised = None

    def _has_room(self, raised: HostStorageFailed) -> bool:
        # a read-only or failing disk that took the failure's event takes writes again; a full
        # one must have room for the reserve and more
        if raised.kind != "full":
            return True
        try:
            return self.free_bytes() >= self.reserve_bytes + SPARE
        except OSError:
            return False

    async def _record(self, event: Event) -> bool:
        try:
            await self.store.append(STREAM, self.version, [event], META)
        except StorageFault as fault:
            log.debug("cannot record %s yet: %s", type(event).__name__, fault)
            return False
        self.version += 1
        return True

    def _give_back_reserve(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.reserve.unlink()
            log.warning("the disk under %s is full: its reserve is given back", self.data_dir)

    def _keep_reserve(self) -> None:
        """Make the reserve when it is missing and the disk has room for it and more."""
        if self.reserve_bytes <= 0 or self.reserve.exists():
            return
        try:
            if self.free_bytes() < self.reserve_bytes + SPARE:
                return
            partial = self.reserve.with_suffix(".partial")
            # real bytes, not a sparse file: the room must be taken now to be given back later
            with partial.open("wb") as out:
                zeros = bytes(_CHUNK)
                for start in range(0, self.reserve_bytes, _CHUNK):
                    out.write(zeros[: min(_CHUNK, self.reserve_bytes - start)])
                out.flush()
                os.fsync(out.fileno())
            partial.chmod(0o600)
            partial.rename(self.reserve)
        except OSError as exc:
            log.debug("no reserve made in %s: %s", self.data_dir, exc)
            with contextlib.suppress(OSError):
                self.reserve.with_suffix(".partial").unlink()


def free_bytes_of(folder: Path) -> Callable[[], int]:
    def free() -> int:
        stat = os.statvfs(folder)
        return stat.f_bavail * stat.f_frsize

    return free
