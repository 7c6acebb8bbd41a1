"""The single writer of events.db: one connection on one thread, committing batches.

Many callers' appends arrive together; one `commit_batch` call writes them in one transaction
(group commit) while still checking each caller's expected stream version on its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from rivetr.adapters.eventstore.base import (
    GENESIS_HASH,
    ConcurrencyError,
    EventMeta,
    RecordedEvent,
)
from rivetr.adapters.eventstore.chain import chain_event
from rivetr.adapters.migrations import migrate
from rivetr.domain.codec import InvalidEvent
from rivetr.domain.events import Event

# columns in RecordedEvent's field order, so a row is msgspec.structs.astuple(recorded)
_FIELDS = RecordedEvent.__struct_fields__
INSERT = f"INSERT INTO events ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})"


class AppendRequest(msgspec.Struct, frozen=True):
    stream_id: str
    expected_version: int | None
    events: Sequence[Event]
    meta: EventMeta


AppendResult = list[RecordedEvent] | ConcurrencyError | InvalidEvent


def connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a crash of the process; only a power loss can take the
    # last commits, never corrupt the file (https://www.sqlite.org/pragma.html#pragma_synchronous)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class BatchWriter:
    """Owns the write connection. Only ever called from one thread at a time."""

    def __init__(self, path: Path | str) -> None:
        self.conn = connect(path)
        migrate(self.conn, "events")

    def commit_batch(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = self._write(requests)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return results

    def _write(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        conn = self.conn
        last = conn.execute("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        position, prev_hash = last.fetchone() or (0, GENESIS_HASH)
        recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
        versions: dict[str, int] = {}
        rows: list[tuple[object, ...]] = []
        results: list[AppendResult] = []
        for request in requests:
            stream_id = request.stream_id
            version = versions.get(stream_id)
            if version is None:
                version = conn.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?",
                    (stream_id,),
                ).fetchone()[0]
            if request.expected_version is not None and request.expected_version != version:
                results.append(ConcurrencyError(stream_id, request.expected_version, version))
                versions[stream_id] = version
                continue
            meta = request.meta
            recorded: list[RecordedEvent] = []
            try:
                for event in request.events:
                    recorded.append(
                        chain_event(
                            recorded[-1].hash if recorded else prev_hash,
                            position + len(recorded) + 1,
                            stream_id,
                            version + len(recorded) + 1,
                            event,
                            meta,
                            recorded_at,
                        )
                    )
            except InvalidEvent as exc:  # refused whole, as a stale request is; the rest go on
                results.append(exc)
                versions[stream_id] = version
                continue
            rows.extend(msgspec.structs.astuple(linked) for linked in recorded)
            position += len(recorded)
            version += len(recorded)
            prev_hash = recorded[-1].hash
            versions[stream_id] = version
            results.append(recorded)
        conn.executemany(INSERT, rows)
        return results

    def close(self) -> None:
        self.conn.close()
