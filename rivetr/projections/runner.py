"""The projection runner: feeds the log into each projection, exactly once per event.

Each batch is one read.db transaction holding the projections' table writes and their
checkpoints, so a crash never applies an event twice or skips one. Checkpoints are read inside
that transaction, which lets `rivetr projections rebuild` run from another process while the
service is up. An event a projection cannot apply is recorded and its stream set aside in that
projection (`failures.py`); the projection goes on with every other stream.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from rivetr.adapters.eventstore.base import EventStore, LoggedEvent
from rivetr.adapters.eventstore.faults import storage_fault
from rivetr.adapters.eventstore.following import HeadSignal
from rivetr.projections import failures
from rivetr.projections.base import Projection, reader_indexes
from rivetr.projections.failures import EventFailure

log = logging.getLogger(__name__)
T = TypeVar("T")
# Errors of the read.db file itself (locked, full, unreadable), not of an event: the whole
# projection stops where it is rather than setting streams aside for something they did not do.
_ENVIRONMENT = (sqlite3.OperationalError, MemoryError)


class ProjectionRunner:
    def __init__(
        self, store: EventStore, path: Path | str, projections: Sequence[Projection]
    ) -> None:
        self.store = store
        self.path = path
        self.projections = list(projections)
        self.page = 2000
        # A rebuild replays the whole log: it commits every `rebuild_page` events (fewer WAL
        # page writes per event) with a bigger page cache (for the sorts that re-create the
        # reader indexes), and gives the cache back when done.
        self.rebuild_page = 20_000
        self.rebuild_cache_kib = 32 * 1024
        self.failures: dict[str, str] = {}  # projections stopped by their environment
        # A projection stopped by its environment (a full disk, a lock) tries again after this
        # pause by itself: the disk coming back must not wait for someone to rebuild it.
        self.retry_after_s = 5.0
        self._retry_at: dict[str, float] = {}
        # why the last batch could not be written to read.db at all, until one is
        self.stalled_by: str | None = None
        # how many streams each projection has set aside (events it could not apply)
        self.streams_set_aside: dict[str, int] = {}
        self._checkpoints: dict[str, int] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rivetr-projections")
        self._conn: sqlite3.Connection | None = None
        self._following = 0  # how many run() loops are active
        self._signal = HeadSignal(self._position_now, poll_interval=3600)

    async def _position_now(self) -> int:
        return self.position

    @property
    def position(self) -> int:
        """The position every healthy projection has reached."""
        healthy = [v for k, v in self._checkpoints.items() if k not in self.failures]
        return min(healthy, default=0)

    async def _in_thread(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        self._checkpoints = await self._in_thread(self._setup)
        self._signal.advance(self.position)

    def _setup(self) -> dict[str, int]:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        self._conn = conn
        with _transaction(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS projection_checkpoints ("
                " name TEXT PRIMARY KEY, position INTEGER NOT NULL, version INTEGER NOT NULL)"
            )
            failures.create(conn)
            for projection in self.projections:
                row = conn.execute(
                    "SELECT version FROM projection_checkpoints WHERE name = ?", (projection.name,)
                ).fetchone()
                if row is None or row[0] != projection.version:
                    if row is not None:
                        log.info("projection %s changed shape: rebuilding", projection.name)
                    _reset(conn, projection)
                else:
                    projection.create(conn)
            self.streams_set_aside = _count_set_aside(conn)
            return _read_checkpoints(conn)

    async def catch_up(self, page: int | None = None) -> int:
        """Apply every event in the log so far, `page` events per transaction (default
        `self.page`); return the position reached."""
        # Reading the next page while applying this one was tried and measured: the reader's
        # thread and this one then fight over the GIL and a rebuild got twice as slow.
        while not self._stalled():
            batch = await self.store.read_logged(after=self._read_from(), limit=page or self.page)
            if not batch:
                return self.position
            try:
                self._checkpoints = await self._in_thread(self._apply_batch, batch)
            except _ENVIRONMENT as exc:
                fault = storage_fault(exc, Path(self.path), "not_recorded")
                self.stalled_by = fault.describe() if fault else failures.describe(exc)
                if fault is not None:
                    raise fault from exc
                raise
            self.stalled_by = None
            self._signal.advance(self.position)
        return self.position

    def _stalled(self) -> bool:
        """No projection can advance now: there are none, or every one has failed and is not
        due to try again yet."""
        return all(p.name in self.failures and not self._due(p.name) for p in self.projections)

    def _read_from(self) -> int:
        """Where the next batch starts: the healthy projections' position, or further back for
        a stopped one due to try again (the others skip what they hold already)."""
        moving = [v for k, v in self._checkpoints.items() if k not in self.failures or self._due(k)]
        return min(moving, default=0)

    def _due(self, name: str) -> bool:
        return time.monotonic() >= self._retry_at.get(name, 0.0)

    async def run(self) -> None:
        """Follow the log for ever (until cancelled)."""
        self._following += 1
        try:
            while True:
                await self.catch_up()
                # stalled, the position stays behind the head and waiting on it would return at
                # once and spin; wait for appends past the head instead
                after = await self.store.head() if self._stalled() else self.position
                retry = self.retry_after_s if self.failures else None
                await self.store.wait_for_new(after, retry)
        finally:
            self._following -= 1

    async def wait_until(self, position: int, timeout: float = 10.0) -> bool:
        """Wait until the read model includes `position` (read-your-writes for the API).

        With nothing following the log (a one-shot CLI command), catch up here instead.
        """
        if not self._following:
            await self.catch_up()
        return await self._signal.wait_beyond(position - 1, timeout) >= position

    async def rebuild(self, names: Sequence[str] | None = None) -> int:
        """Drop and replay the named projections (all when None); return the position reached."""
        known = {p.name for p in self.projections}
        unknown = set(names or ()) - known
        if unknown:
            raise KeyError(f"no projection named {', '.join(sorted(unknown))}")
        chosen = [p for p in self.projections if names is None or p.name in names]
        self._checkpoints = await self._in_thread(self._reset_all, chosen)
        for projection in chosen:
            self.failures.pop(projection.name, None)
        cache = await self._in_thread(self._set_cache_size, -self.rebuild_cache_kib)
        try:
            return await self.catch_up(self.rebuild_page)
        finally:
            await self._in_thread(self._finish_rebuild, chosen, cache)

    def _set_cache_size(self, size: int) -> int:
        """Set the read.db page cache (negative: KiB, positive: pages); return the old value.
        Lowering it again frees the pages above the new limit."""
        assert self._conn is not None
        old: int = self._conn.execute("PRAGMA cache_size").fetchone()[0]
        self._conn.execute(f"PRAGMA cache_size = {int(size)}")
        return old

    def _finish_rebuild(self, chosen: Sequence[Projection], cache: int) -> None:
        """Re-create the reader indexes the rebuild dropped, then give the cache back."""
        assert self._conn is not None
        try:
            with _transaction(self._conn):
                for projection in chosen:
                    if reader_indexes(projection):
                        projection.create(self._conn)
        finally:
            self._set_cache_size(cache)

    def _reset_all(self, chosen: Sequence[Projection]) -> dict[str, int]:
        assert self._conn is not None
        with _transaction(self._conn):
            for projection in chosen:
                _reset(self._conn, projection)
                for index in reader_indexes(projection):
                    self._conn.execute(f'DROP INDEX IF EXISTS "{index}"')
            self.streams_set_aside = _count_set_aside(self._conn)
            return _read_checkpoints(self._conn)

    async def event_failures(self, names: Sequence[str] | None = None) -> list[EventFailure]:
        """The events the (named) projections could not apply, oldest first."""
        return await self._in_thread(self._event_failures, names)

    def _event_failures(self, names: Sequence[str] | None) -> list[EventFailure]:
        assert self._conn is not None
        return failures.listed(self._conn, None if names is None else list(names))

    def _apply_batch(self, batch: Sequence[LoggedEvent]) -> dict[str, int]:
        conn = self._conn
        assert conn is not None
        last = batch[-1].position
        with _transaction(conn):
            stored = _read_checkpoints(conn)
            for projection in self.projections:
                if projection.name in self.failures and not self._due(projection.name):
                    continue
                done = stored.get(projection.name, 0)
                if done >= last:
                    continue
                conn.execute(f"SAVEPOINT {projection.name}")
                try:
                    _apply_each(conn, projection, batch, done)
                except _ENVIRONMENT as exc:
                    # one projection that cannot write must not stop the others or the service
                    conn.execute(f"ROLLBACK TO {projection.name}")
                    self.failures[projection.name] = failures.describe(exc)
                    self._retry_at[projection.name] = time.monotonic() + self.retry_after_s
                    log.exception(
                        "projection %s failed; it stays at %d and tries again in %g s",
                        projection.name,
                        done,
                        self.retry_after_s,
                    )
                else:
                    if self.failures.pop(projection.name, None) is not None:
                        log.info("projection %s writes again", projection.name)
                    conn.execute(
                        "UPDATE projection_checkpoints SET position = ? WHERE name = ?",
                        (last, projection.name),
                    )
                conn.execute(f"RELEASE {projection.name}")
            self.streams_set_aside = _count_set_aside(conn)
            return _read_checkpoints(conn)

    async def close(self) -> None:
        if self._conn is not None:
            await self._in_thread(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)


def _apply_each(
    conn: sqlite3.Connection, projection: Projection, batch: Sequence[LoggedEvent], done: int
) -> None:
    handles = projection.handles
    events = [
        event
        for event in batch
        if event.position > done and (handles is None or event.type in handles)
    ]
    if not events:
        return
    # read inside the transaction, like the checkpoints: a rebuild by the CLI clears them
    set_aside = failures.blocked_streams(conn, projection.name)
    if set_aside:
        failures.skip(conn, projection.name, [e for e in events if e.stream_id in set_aside])
        events = [e for e in events if e.stream_id not in set_aside]
    conn.execute("SAVEPOINT batch")
    try:
        _apply_all(conn, projection, events)
    except _ENVIRONMENT:
        raise
    except Exception:
        # some event of the batch cannot be applied: find it by applying them one at a time
        conn.execute("ROLLBACK TO batch")
        _apply_one_by_one(conn, projection, events, set_aside)
    conn.execute("RELEASE batch")


def _apply_all(
    conn: sqlite3.Connection, projection: Projection, events: Sequence[LoggedEvent]
) -> None:
    if not events:
        return
    apply_batch = getattr(projection, "apply_batch", None)
    if apply_batch is not None:  # a BatchProjection: the same result, fewer statements
        apply_batch(conn, events)
        return
    apply = projection.apply
    for event in events:
        apply(conn, event)


def _apply_one_by_one(
    conn: sqlite3.Connection,
    projection: Projection,
    events: Sequence[LoggedEvent],
    set_aside: set[str],
) -> None:
    """Apply each event in a savepoint of its own; one that fails is recorded and its stream
    set aside, and the projection goes on with the rest."""
    for event in events:
        if event.stream_id in set_aside:
            failures.skip(conn, projection.name, [event])
            continue
        conn.execute("SAVEPOINT event")
        try:
            projection.apply(conn, event)
        except _ENVIRONMENT:
            raise
        except Exception as exc:
            conn.execute("ROLLBACK TO event")
            failures.record(conn, projection.name, event, failures.describe(exc))
            set_aside.add(event.stream_id)
            log.error(
                "projection %s cannot apply event %d (%s on %s): %s; that stream is set aside"
                " in it until the projection is rebuilt",
                projection.name,
                event.position,
                event.type,
                event.stream_id,
                failures.describe(exc),
            )
        conn.execute("RELEASE event")


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error:
                self._roll_back()
                raise
        self._roll_back()

    def _roll_back(self) -> None:
        # a failed COMMIT (a full disk) may have rolled the transaction back already; rolling
        # back again would raise over the error that says why
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


def _reset(conn: sqlite3.Connection, projection: Projection) -> None:
    projection.drop(conn)
    projection.create(conn)
    failures.forget(conn, projection.name)
    conn.execute(
        "INSERT OR REPLACE INTO projection_checkpoints (name, position, version) VALUES (?, 0, ?)",
        (projection.name, projection.version),
    )


def _read_checkpoints(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT name, position FROM projection_checkpoints"))


def _count_set_aside(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT projection, COUNT(*) FROM projection_failures GROUP BY 1")
    return dict(rows)
