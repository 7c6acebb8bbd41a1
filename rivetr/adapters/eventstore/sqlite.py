"""SqliteEventStore: the log in events.db. One writer thread group-commits appends; reads go
through their own aiosqlite connection so they never wait behind a write."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from sqlite3 import Row

import aiosqlite

from rivetr.adapters.eventstore.base import (
    EventMeta,
    LoggedEvent,
    RecordedEvent,
    StreamAppend,
    check_appends,
    first_together,
)
from rivetr.adapters.eventstore.faults import StandingFault, StorageFault, standing
from rivetr.adapters.eventstore.following import HeadSignal, follow
from rivetr.adapters.eventstore.legacy import LEARNS_FROM, LegacyConcerns
from rivetr.adapters.eventstore.writer import AppendRequest, AppendResult, BatchWriter
from rivetr.adapters.histograms import Histogram
from rivetr.adapters.private_files import private_sqlite
from rivetr.domain.events import Event

# link_hash's argument order, then the chain fields: for tests and tools that copy rows by hand
COLUMNS = (
    "position, stream_id, version, type, schema_version, data, event_id, recorded_at, actor,"
    " correlation_id, causation_id, prev_hash, hash, team, source, resource"
)
# selected in field order, so a row is the struct's positional arguments
_RECORDED = ", ".join(RecordedEvent.__struct_fields__)
_LOGGED = ", ".join(LoggedEvent.__struct_fields__)  # without the chain fields
MAX_BATCH = 1000
log = logging.getLogger(__name__)

_Pending = tuple[AppendRequest, "asyncio.Future[AppendResult]"]
_STOP = None  # queued by close(): finish what came before it, then stop


class SqliteEventStore:
    def __init__(self, path: Path, poll_interval: float) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rivetr-writer")
        self._writer: BatchWriter | None = None
        self._reader: aiosqlite.Connection | None = None
        # asked in the event loop itself, once a poll interval, whether any connection committed
        # since it last looked: a few microseconds, where a query on the reader's thread wakes
        # two threads (the idle service's most frequent wake-up)
        self._changes: sqlite3.Connection | None = None
        self._data_version: int | None = None
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._closed = False
        self._signal = HeadSignal(self._read_head, poll_interval)
        self._concerns = LegacyConcerns(self._learn)
        # seconds from an append's call to its commit, queueing behind others' included: what a
        # caller waits (for /metrics)
        self.append_latency = Histogram()
        # the disk fault the last batch met, until a batch commits again (for health)
        self.fault: StandingFault | None = None
        self.refusals = 0  # appends refused by the disk since open
        self.fault_seen = asyncio.Event()

    @classmethod
    async def open(cls, path: Path, poll_interval: float = 1.0) -> SqliteEventStore:
        """Open (creating and migrating if needed) the log at `path`.

        `poll_interval` is how often a waiting subscriber checks for appends made by another
        process; appends in this process wake subscribers at once.
        """
        store = cls(private_sqlite(Path(path)), poll_interval)
        loop = asyncio.get_running_loop()
        store._writer = await loop.run_in_executor(store._executor, BatchWriter, store.path)
        store._reader = await aiosqlite.connect(store.path)
        store._changes = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
        await store._signal.refresh()
        return store

    # --- writing ---------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event],
        meta: EventMeta,
    ) -> list[RecordedEvent]:
        return await self.append_together([StreamAppend(stream_id, expected_version, events)], meta)

    async def append_together(
        self, appends: Sequence[StreamAppend], meta: EventMeta
    ) -> list[RecordedEvent]:
        check_appends(appends)
        if self._closed:  # queued behind the stop marker, it would wait forever
            raise RuntimeError("the event store is closed")
        if self._writer_task is None:
            self._writer_task = asyncio.create_task(self._write_batches(), name="rivetr-writer")
        loop = asyncio.get_running_loop()
        started = loop.time()
        future: asyncio.Future[AppendResult] = loop.create_future()
        self._queue.put_nowait((AppendRequest(appends, meta), future))
        result = await future
        self.append_latency.observe(loop.time() - started)
        if isinstance(result, Exception):  # stale (ConcurrencyError) or refused (InvalidEvent)
            raise result
        return result

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            batch: list[_Pending] = []
            item = await self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= MAX_BATCH or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if not batch:
                continue
            assert self._writer is not None
            try:
                results = await loop.run_in_executor(
                    self._executor, self._writer.commit_batch, [request for request, _ in batch]
                )
            except Exception as exc:  # the whole transaction failed: every caller hears why
                if isinstance(exc, StorageFault):
                    if self.fault is None:  # once, not once per refused request
                        log.error("the event log cannot be written: %s", exc.describe())
                    self.fault = standing(self.fault, exc, len(batch))
                    self.refusals += len(batch)
                    self.fault_seen.set()
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            if self.fault is not None:
                log.warning("the event log takes writes again (%d refused)", self.fault.refused)
            self.fault = None
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            heads = [r[-1].position for r in results if isinstance(r, list)]
            if heads:
                self._signal.advance(max(heads))

    # --- reading ---------------------------------------------------------------------------

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        rows = await self._select(
            f"SELECT {_RECORDED} FROM events WHERE stream_id = ? ORDER BY version", (stream_id,)
        )
        return [RecordedEvent(*row) for row in rows]

    async def first_append(self, correlation_id: str) -> list[RecordedEvent]:
        rows = await self._select(
            f"SELECT {_RECORDED} FROM events WHERE correlation_id = ? ORDER BY position"
            f" LIMIT {MAX_BATCH}",
            (correlation_id,),
        )
        return first_together([RecordedEvent(*row) for row in rows])

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        rows = await self._select(
            f"SELECT {_RECORDED} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after, limit),
        )
        return [RecordedEvent(*row) for row in rows]

    async def read_logged(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        rows = await self._select(
            f"SELECT {_LOGGED} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after, limit),
        )
        return await self._concerns.fill([LoggedEvent(*row) for row in rows], after)

    async def _learn(self, after: int, upto: int) -> list[LoggedEvent]:
        rows = await self._select(
            f"SELECT {_LOGGED} FROM events WHERE position > ? AND position <= ?"
            f" AND type IN {LEARNS_FROM} ORDER BY position",
            (after, upto),
        )
        return [LoggedEvent(*row) for row in rows]

    async def _select(self, sql: str, params: tuple[object, ...]) -> Iterable[Row]:
        assert self._reader is not None, "store is closed"
        return await self._reader.execute_fetchall(sql, params)

    async def _read_head(self) -> int:
        assert self._reader is not None, "store is closed"
        if self._changes is not None:
            (version,) = self._changes.execute("PRAGMA data_version").fetchone()
            if version == self._data_version:
                return self._signal.head  # nobody committed since the last look
            self._data_version = version
        rows = list(await self._reader.execute_fetchall("SELECT MAX(position) FROM events"))
        return int(rows[0][0] or 0)

    async def head(self) -> int:
        return await self._signal.refresh()

    async def wait_for_new(self, after: int, timeout: float | None = None) -> int:
        return await self._signal.wait_beyond(after, timeout)

    def subscribe(self, after: int = 0) -> AsyncIterator[RecordedEvent]:
        return follow(self, after)

    async def close(self) -> None:
        self._closed = True
        if self._writer_task is not None:
            self._queue.put_nowait(_STOP)  # appends queued before close still commit
            await self._writer_task
            self._writer_task = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._changes is not None:
            self._changes.close()
            self._changes = None
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._writer.close)
            self._writer = None
        self._executor.shutdown(wait=True)
