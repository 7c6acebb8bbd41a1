"""The single writer of events.db: one connection on one thread, committing batches.

Many callers' appends arrive together; one `commit_batch` call writes them in one transaction
(group commit) while still checking each caller's expected stream version on its own. What a
commit left (the log's end, the newest streams' versions) is remembered for the next batch,
which reads it back only when another connection wrote since (a CLI on the same file): a
batch of ten appends otherwise spent a quarter of its time asking SQLite what it had just
written.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from rivetr.adapters.eventstore.base import (
    GENESIS_HASH,
    ConcurrencyError,
    EventMeta,
    RecordedEvent,
    StreamAppend,
)
from rivetr.adapters.eventstore.chain import chain_event
from rivetr.adapters.eventstore.faults import Outcome, storage_fault
from rivetr.adapters.migrations import migrate
from rivetr.domain.codec import InvalidEvent

# columns in RecordedEvent's field order, so a row is msgspec.structs.astuple(recorded)
_FIELDS = RecordedEvent.__struct_fields__
INSERT = f"INSERT INTO events ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})"


class AppendRequest(msgspec.Struct, frozen=True):
    """One caller's append: one or more streams' events, recorded all together or not at all."""

    parts: Sequence[StreamAppend]
    meta: EventMeta


AppendResult = list[RecordedEvent] | ConcurrencyError | InvalidEvent


def connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a crash of the process; only a power loss can take the
    # last commits, never corrupt the file (https://www.sqlite.org/pragma.html#pragma_synchronous)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


STREAMS_KEPT = 4096  # the streams whose version the writer remembers between batches


class _Tail:
    """What the last commit left at the log's end (its position and hash) and the newest
    streams' versions, so a batch need not read them back: good for as long as no other
    connection wrote (`PRAGMA data_version` says), forgotten whenever a batch fails."""

    def __init__(self) -> None:
        self.end: tuple[int, str] | None = None
        self.versions: OrderedDict[str, int] = OrderedDict()
        self.data_version: int | None = None

    def check(self, conn: sqlite3.Connection) -> None:
        """Inside the batch's transaction: forget it all if another connection wrote."""
        seen = conn.execute("PRAGMA data_version").fetchone()[0]
        if seen != self.data_version:
            self.forget()
            self.data_version = seen

    def forget(self) -> None:
        self.end = None
        self.versions.clear()
        self.data_version = None

    def committed(self, end: tuple[int, str], versions: dict[str, int]) -> None:
        self.end = end
        for stream_id, version in versions.items():
            self.versions[stream_id] = version
            self.versions.move_to_end(stream_id)
        while len(self.versions) > STREAMS_KEPT:
            self.versions.popitem(last=False)


class BatchWriter:
    """Owns the write connection. Only ever called from one thread at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.conn: sqlite3.Connection | None = connect(path)
        migrate(self.conn, "events")
        self.tail = _Tail()
        # the end and the stream versions of the batch in its transaction, kept once committed
        self._written: tuple[tuple[int, str], dict[str, int]] | None = None

    def commit_batch(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        """Write `requests` in one transaction. A failure of the disk is raised as a
        StorageFault saying whether the batch was recorded; either way the writer is left able
        to write again once the disk is."""
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            self.tail.check(conn)
            results = self._write(requests)
        except BaseException as exc:
            self._abandon()
            _raise_fault(exc, self.path, "not_recorded")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite rolls some failed commits back by itself and not others; only the file
            # can say whether this one landed
            landed = False if self._abandon() else self._landed(results)
            if landed:
                self.tail.forget()  # it landed, but what else the file holds is unsure
                return results
            _raise_fault(exc, self.path, "unknown" if landed is None else "not_recorded")
            raise
        if self._written is not None:
            self.tail.committed(*self._written)
        return results

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:  # dropped after a failure it could not roll back
            self.conn = connect(self.path)
        return self.conn

    def _abandon(self) -> bool:
        """Roll back what is open; True when a transaction was open and is now rolled back.
        A connection that cannot roll back is dropped, and the next batch opens a new one."""
        self.tail.forget()
        conn = self.conn
        if conn is None or not conn.in_transaction:
            return False
        try:
            conn.execute("ROLLBACK")
            return True
        except sqlite3.Error:
            self._drop()
            return True  # closing the connection discards its transaction

    def _landed(self, results: Sequence[AppendResult]) -> bool | None:
        """Whether the batch's last event is in the file with the hash it was given, or None
        when the file cannot be read to tell."""
        recorded = [r for r in results if isinstance(r, list) and r]
        if not recorded:
            return False
        last = recorded[-1][-1]
        try:
            row = (
                self._connection()
                .execute("SELECT hash FROM events WHERE position = ?", (last.position,))
                .fetchone()
            )
        except sqlite3.Error:
            self._drop()
            return None
        return row is not None and row[0] == last.hash

    def _drop(self) -> None:
        self.tail.forget()  # a new connection counts data versions afresh
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None

    def _write(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        conn = self._connection()
        self._written = None
        position, prev_hash = self.tail.end or self._end(conn)
        recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
        versions: dict[str, int] = {}
        rows: list[tuple[object, ...]] = []
        results: list[AppendResult] = []
        known = self.tail.versions

        def version_of(stream_id: str) -> int:
            if stream_id not in versions:
                versions[stream_id] = (
                    known[stream_id]
                    if stream_id in known
                    else conn.execute(
                        "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?",
                        (stream_id,),
                    ).fetchone()[0]
                )
            return versions[stream_id]

        for request in requests:
            stale = next(
                (
                    ConcurrencyError(part.stream_id, part.expected_version, actual)
                    for part in request.parts
                    if part.expected_version is not None
                    and part.expected_version != (actual := version_of(part.stream_id))
                ),
                None,
            )
            if stale is not None:
                results.append(stale)
                continue
            try:
                recorded = _chain(request, position, prev_hash, version_of, recorded_at)
            except InvalidEvent as exc:  # refused whole, as a stale request is; the rest go on
                results.append(exc)
                continue
            for linked in recorded:
                rows.append(msgspec.structs.astuple(linked))
                versions[linked.stream_id] = linked.version
            position += len(recorded)
            prev_hash = recorded[-1].hash
            results.append(recorded)
        conn.executemany(INSERT, rows)
        self._written = ((position, prev_hash), versions)
        return results

    @staticmethod
    def _end(conn: sqlite3.Connection) -> tuple[int, str]:
        last = conn.execute("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        found: tuple[int, str] | None = last.fetchone()
        return found or (0, GENESIS_HASH)

    def close(self) -> None:
        self._drop()


def _raise_fault(exc: BaseException, path: Path, outcome: Outcome) -> None:
    """Raise `exc` as the StorageFault it is when the disk caused it; else return."""
    fault = storage_fault(exc, path, outcome)
    if fault is not None:
        raise fault from exc


def _chain(
    request: AppendRequest,
    position: int,
    prev_hash: str,
    version_of: Callable[[str], int],
    recorded_at: str,
) -> list[RecordedEvent]:
    """Link the request's events after `position`, stream by stream, in the order given."""
    recorded: list[RecordedEvent] = []
    next_version: dict[str, int] = {}
    for part in request.parts:
        meta = part.meta_for(request.meta)
        for event in part.events:
            stream_id = part.stream_id
            version = next_version.get(stream_id, version_of(stream_id)) + 1
            next_version[stream_id] = version
            linked = chain_event(
                recorded[-1].hash if recorded else prev_hash,
                position + len(recorded) + 1,
                stream_id,
                version,
                event,
                meta,
                recorded_at,
            )
            recorded.append(linked)
    return recorded
