"""What only the SQLite log promises: an append-only table, migrations, group commit, other
processes writing the same file, old event shapes read through upcasters, and tamper evidence."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import textwrap
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

import rivetr
from rivetr.adapters.eventstore import ANY_VERSION, NO_STREAM, ConcurrencyError, EventMeta
from rivetr.adapters.eventstore.base import GENESIS_HASH, StreamAppend
from rivetr.adapters.eventstore.chain import (
    ChainBroken,
    link_hash,
    time_ordered_id,
    verify_chain,
)
from rivetr.adapters.eventstore.sqlite import COLUMNS, SqliteEventStore
from rivetr.adapters.eventstore.writer import (
    STREAMS_KEPT,
    AppendRequest,
    AppendResult,
    BatchWriter,
)
from rivetr.adapters.migrations import migrate
from rivetr.domain.events import AppCreated, EngineLost

INSERT_ROW = f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * len(COLUMNS.split(',')))})"

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

META = EventMeta(actor="test:sqlite")
WAIT = 10.0
# where `import rivetr` works from, for a child process
SOURCE_ROOT = str(Path(rivetr.__file__).resolve().parents[1])


def lost(n: int) -> EngineLost:
    return EngineLost(reason=f"reason {n}")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
async def store(db_path: Path, anyio_backend: str):
    opened = await SqliteEventStore.open(db_path, poll_interval=0.2)
    yield opened
    await opened.close()


async def read_everything(store: SqliteEventStore):
    return await store.read_all(after=0, limit=1_000_000)


# --- (a) append-only --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE events SET actor = 'mallory' WHERE position = 1", "DELETE FROM events"],
)
async def test_the_events_table_refuses_update_and_delete(
    store: SqliteEventStore, db_path: Path, statement: str
) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    before = await read_everything(store)

    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises((sqlite3.IntegrityError, sqlite3.OperationalError), match="append-only"):
            conn.execute(statement)
        conn.rollback()
    finally:
        conn.close()

    assert await read_everything(store) == before


# --- (b) migrations ---------------------------------------------------------------------------


async def test_opening_a_new_log_records_every_migration(
    store: SqliteEventStore, db_path: Path
) -> None:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
    assert rows == [
        (1, "0001_event_log.sql"),
        (2, "0002_event_team_source.sql"),
        (3, "0003_event_resource.sql"),
    ]


async def test_reopening_the_log_applies_no_migration_again(db_path: Path, anyio_backend) -> None:
    first = await SqliteEventStore.open(db_path)
    await first.append("app-a", NO_STREAM, [lost(1)], META)
    await first.close()
    with sqlite3.connect(db_path) as conn:
        applied_before = conn.execute("SELECT * FROM schema_migrations").fetchall()

    reopened = await SqliteEventStore.open(db_path)
    try:
        assert [e.event for e in await read_everything(reopened)] == [lost(1)]
    finally:
        await reopened.close()

    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert conn.execute("SELECT * FROM schema_migrations").fetchall() == applied_before
        assert migrate(conn, "events") == []
    finally:
        conn.close()


# --- (c) group commit -------------------------------------------------------------------------


async def test_concurrent_appends_share_transactions(
    store: SqliteEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.append("app-stale", NO_STREAM, [lost(0)], META)
    writer = store._writer
    assert writer is not None
    batches: list[tuple[list[AppendRequest], list[AppendResult]]] = []
    commit_batch = writer.commit_batch

    def counting_commit_batch(requests: Sequence[AppendRequest]) -> list[AppendResult]:
        results = commit_batch(requests)
        batches.append((list(requests), results))
        return results

    monkeypatch.setattr(writer, "commit_batch", counting_commit_batch)

    stale = EngineLost(reason="stale")
    appends = [store.append(f"app-{n}", NO_STREAM, [lost(n)], META) for n in range(1, 100)]
    appends.insert(50, store.append("app-stale", NO_STREAM, [stale], META))
    outcomes = await asyncio.gather(*appends, return_exceptions=True)

    assert len(batches) < 100
    assert sum(len(requests) for requests, _ in batches) == 100
    [refused] = [o for o in outcomes if isinstance(o, BaseException)]
    assert isinstance(refused, ConcurrencyError)
    assert refused.stream_id == "app-stale"
    # the stale request shared its transaction with others, and they committed
    [(requests, results)] = [
        (requests, results)
        for requests, results in batches
        if any(part.stream_id == "app-stale" for r in requests for part in r.parts)
    ]
    assert len(requests) > 1
    committed = [r for r in results if not isinstance(r, ConcurrencyError)]
    assert len(committed) == len(requests) - 1
    log = await read_everything(store)
    assert len(log) == 100
    assert stale not in [e.event for e in log]
    assert verify_chain(log) == 100


async def test_each_append_is_timed_from_its_call_to_its_commit(store: SqliteEventStore) -> None:
    await store.append("app-1", NO_STREAM, [lost(1)], META)
    await asyncio.gather(*(store.append(f"app-{n}", NO_STREAM, [lost(n)], META) for n in (2, 3)))
    with pytest.raises(ConcurrencyError):  # refused, but waited for all the same
        await store.append("app-1", NO_STREAM, [lost(4)], META)

    timed = store.append_latency
    assert timed.count == 4
    assert 0 < timed.sum < 10
    assert timed.cumulative()[-1] == (float("inf"), 4)


def test_one_batch_checks_each_request_against_the_ones_before_it(db_path: Path) -> None:
    writer = BatchWriter(db_path)
    try:
        results = writer.commit_batch(
            [
                AppendRequest([StreamAppend("app-a", NO_STREAM, [lost(1), lost(2)])], META),
                AppendRequest(
                    [StreamAppend("app-a", NO_STREAM, [lost(3)])], META
                ),  # stale: app-a now exists
                AppendRequest([StreamAppend("app-a", 2, [lost(4)])], META),
                AppendRequest(
                    [StreamAppend("app-b", 3, [lost(5)])], META
                ),  # stale: app-b does not exist
                AppendRequest([StreamAppend("app-b", ANY_VERSION, [lost(6)])], META),
            ]
        )
        rows = writer.conn.execute("SELECT stream_id, version, position FROM events").fetchall()
    finally:
        writer.close()

    kinds = [type(r).__name__ for r in results]
    assert kinds == ["list", "ConcurrencyError", "list", "ConcurrencyError", "list"]
    assert rows == [("app-a", 1, 1), ("app-a", 2, 2), ("app-a", 3, 3), ("app-b", 1, 4)]


async def test_a_writer_reads_back_what_another_connection_wrote_since_its_last_batch(
    db_path: Path, anyio_backend: str
) -> None:
    """The writer remembers the log's end and its streams' versions between batches; a
    commit by another connection (a CLI on the same file) makes it read them again, so the
    versions it checks and the chain it extends are the file's."""
    ours, theirs = BatchWriter(db_path), BatchWriter(db_path)
    try:
        for n in range(3):
            for writer in (ours, theirs):
                [done] = writer.commit_batch(
                    [AppendRequest([StreamAppend("app-a", ANY_VERSION, [lost(n)])], META)]
                )
                assert isinstance(done, list)
        [stale] = ours.commit_batch([AppendRequest([StreamAppend("app-a", 5, [lost(9)])], META)])
        assert isinstance(stale, ConcurrencyError)  # theirs wrote version 6
    finally:
        ours.close()
        theirs.close()
    store = await SqliteEventStore.open(db_path)
    try:
        log = await read_everything(store)
    finally:
        await store.close()
    assert [(e.stream_id, e.version) for e in log] == [("app-a", v) for v in range(1, 7)]
    assert verify_chain(log) == 6


def test_event_ids_are_uuids_that_sort_in_the_order_they_were_made() -> None:
    made = [time_ordered_id() for _ in range(1000)]
    assert all(uuid.UUID(one).version == 7 for one in made)
    assert len(set(made)) == 1000
    assert [one[:13] for one in made] == sorted(one[:13] for one in made)  # the time part


def test_the_writer_remembers_a_bounded_number_of_streams(db_path: Path) -> None:
    writer = BatchWriter(db_path)
    try:
        for start in range(0, STREAMS_KEPT + 10, 500):
            requests = [
                AppendRequest([StreamAppend(f"app-{n}", NO_STREAM, [lost(n)])], META)
                for n in range(start, start + 500)
            ]
            assert all(isinstance(r, list) for r in writer.commit_batch(requests))
        assert len(writer.tail.versions) == STREAMS_KEPT
        [again] = writer.commit_batch(  # one forgotten: read from the file, and still refused
            [AppendRequest([StreamAppend("app-0", NO_STREAM, [lost(0)])], META)]
        )
        assert isinstance(again, ConcurrencyError)
    finally:
        writer.close()


# --- (d) another process ----------------------------------------------------------------------

APPEND_FROM_ANOTHER_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from rivetr.adapters.eventstore import EventMeta
    from rivetr.adapters.eventstore.sqlite import SqliteEventStore
    from rivetr.domain.events import EngineLost

    async def main():
        store = await SqliteEventStore.open(Path(sys.argv[1]))
        await store.append("engine", None, [EngineLost(reason=sys.argv[2])], EventMeta(actor="cli"))
        await store.close()

    asyncio.run(main())
    """
)


async def append_from_another_process(db_path: Path, reason: str) -> None:
    env = {**os.environ, "PYTHONPATH": SOURCE_ROOT}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        APPEND_FROM_ANOTHER_PROCESS,
        str(db_path),
        reason,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()


async def test_a_subscriber_notices_an_append_by_another_process(
    store: SqliteEventStore, db_path: Path
) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    events = store.subscribe(after=1)
    try:
        waiting = asyncio.ensure_future(anext(events))
        await append_from_another_process(db_path, "from the cli")
        async with asyncio.timeout(WAIT):
            noticed = await waiting
    finally:
        await events.aclose()  # type: ignore[attr-defined]

    assert (noticed.position, noticed.actor, noticed.event) == (
        2,
        "cli",
        EngineLost(reason="from the cli"),
    )


async def test_appends_from_two_processes_interleave_into_one_chain(
    store: SqliteEventStore, db_path: Path
) -> None:
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    await append_from_another_process(db_path, "cli 1")
    await store.append("app-a", 1, [lost(2)], META)
    await append_from_another_process(db_path, "cli 2")
    await store.append("app-b", NO_STREAM, [lost(3)], META)

    log = await read_everything(store)

    assert [(e.stream_id, e.version, e.event) for e in log] == [
        ("app-a", 1, lost(1)),
        ("engine", 1, EngineLost(reason="cli 1")),
        ("app-a", 2, lost(2)),
        ("engine", 2, EngineLost(reason="cli 2")),
        ("app-b", 1, lost(3)),
    ]
    assert verify_chain(log) == 5
    assert await store.head() == 5


# --- (e) an event in an older shape -----------------------------------------------------------


def insert_chained_row(
    conn: sqlite3.Connection,
    stream_id: str,
    version: int,
    type_: str,
    schema_version: int,
    data: bytes,
    actor: str = "legacy",
) -> None:
    """Append one row by hand, linked into the chain exactly as the writer would."""
    last = conn.execute("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
    position, prev_hash = last.fetchone() or (0, GENESIS_HASH)
    fields = (
        stream_id,
        version,
        type_,
        schema_version,
        data,
        str(uuid.uuid4()),
        datetime.now(UTC).isoformat(timespec="microseconds"),
        actor,
        None,
        None,
    )
    hash_ = link_hash(prev_hash, position + 1, *fields)
    conn.execute(
        INSERT_ROW,
        (position + 1, *fields, prev_hash, hash_, None, None, None),
    )
    conn.commit()


async def test_an_app_created_v1_row_reads_as_the_current_shape(
    store: SqliteEventStore, db_path: Path
) -> None:
    await store.append("engine", NO_STREAM, [lost(1)], META)
    v1_body = msgspec.json.encode(
        {
            "type": "app.created",
            "name": "legacy",
            "git_url": "https://example.com/r.git",
            "domain": "legacy.example.com",
        }
    )
    with sqlite3.connect(db_path) as conn:
        insert_chained_row(conn, "app-legacy", 1, "app.created", 1, v1_body)
    await store.append("app-legacy", 1, [lost(2)], META)  # the writer chains on after it

    [created, _] = await store.read_stream("app-legacy")

    assert created.schema_version == 1
    assert created.event == AppCreated(
        app_id="legacy.2",  # where it was created: it had no id of its own
        name="legacy",
        git_url="https://example.com/r.git",
        domains=["legacy.example.com"],
    )
    assert verify_chain(await read_everything(store)) == 3


# --- (f) tampering ----------------------------------------------------------------------------


def copy_log(source: Path, target: Path, skip: int | None = None, tamper: int | None = None):
    """Copy every row into a fresh log, dropping position `skip` and rewriting the body of
    position `tamper` (optionally re-hashing it, as a careful forger would)."""
    writer = BatchWriter(target)  # a fresh, migrated log, triggers and all
    writer.close()
    with sqlite3.connect(source) as src:
        rows = src.execute(f"SELECT {COLUMNS} FROM events ORDER BY position").fetchall()
    with sqlite3.connect(target) as dst:
        for row in rows:
            position = row[0]
            if position == skip:
                continue
            if position == tamper:
                forged = msgspec.json.encode(EngineLost(reason="nothing happened"))
                row = (*row[:5], forged, *row[6:])
            dst.execute(
                INSERT_ROW,
                row,
            )


@pytest.fixture
async def three_events(store: SqliteEventStore) -> Path:
    for n in range(1, 4):
        await store.append("engine", ANY_VERSION, [lost(n)], META)
    return store.path


@pytest.mark.parametrize(
    ("skip", "tamper", "broken_at", "reason"),
    [
        (None, 2, 2, "hash does not match"),
        (2, None, 2, "missing"),
    ],
)
async def test_a_tampered_copy_of_the_log_breaks_the_chain_at_that_position(
    three_events: Path,
    tmp_path: Path,
    skip: int | None,
    tamper: int | None,
    broken_at: int,
    reason: str,
) -> None:
    forged_path = tmp_path / "forged.db"
    copy_log(three_events, forged_path, skip=skip, tamper=tamper)
    forged = await SqliteEventStore.open(forged_path)
    try:
        log = await read_everything(forged)
    finally:
        await forged.close()

    with pytest.raises(ChainBroken, match=reason) as broken:
        verify_chain(log)
    assert broken.value.position == broken_at


async def test_an_untouched_copy_of_the_log_verifies(three_events: Path, tmp_path: Path) -> None:
    copy_log(three_events, tmp_path / "copy.db")
    copy = await SqliteEventStore.open(tmp_path / "copy.db")
    try:
        assert verify_chain(await read_everything(copy)) == 3
    finally:
        await copy.close()


async def test_a_rehashed_forgery_breaks_the_chain_at_the_next_position(
    three_events: Path, tmp_path: Path
) -> None:
    # Re-hash the forged row so its own hash checks out: the next row's prev_hash still betrays it.
    forged_path = tmp_path / "forged.db"
    BatchWriter(forged_path).close()
    with sqlite3.connect(three_events) as src:
        rows = src.execute(f"SELECT {COLUMNS} FROM events ORDER BY position").fetchall()
    with sqlite3.connect(forged_path) as dst:
        dst.execute(
            INSERT_ROW,
            rows[0],
        )
        insert_chained_row(
            dst, "engine", 2, "engine.lost", 1, msgspec.json.encode(lost(99)), actor=META.actor
        )
        dst.execute(
            INSERT_ROW,
            rows[2],
        )
    forged = await SqliteEventStore.open(forged_path)
    try:
        log = await read_everything(forged)
    finally:
        await forged.close()

    with pytest.raises(ChainBroken, match="prev_hash") as broken:
        verify_chain(log)
    assert broken.value.position == 3


# --- (g) closing ------------------------------------------------------------------------------


async def test_closing_commits_the_appends_still_queued(db_path: Path, anyio_backend) -> None:
    store = await SqliteEventStore.open(db_path)
    appends = [
        asyncio.ensure_future(store.append(f"app-{n}", NO_STREAM, [lost(n)], META))
        for n in range(50)
    ]
    await asyncio.sleep(0)  # let every caller queue its append
    assert not any(a.done() for a in appends)

    async with asyncio.timeout(WAIT):
        await store.close()
        recorded = await asyncio.gather(*appends)

    assert sorted(r[0].event.reason for r in recorded) == sorted(f"reason {n}" for n in range(50))
    reopened = await SqliteEventStore.open(db_path)
    try:
        log = await read_everything(reopened)
    finally:
        await reopened.close()
    assert len(log) == 50
    assert verify_chain(log) == 50


async def test_an_append_after_close_is_refused_rather_than_left_waiting(
    db_path: Path, anyio_backend
) -> None:
    store = await SqliteEventStore.open(db_path)
    await store.append("app-a", NO_STREAM, [lost(1)], META)
    await store.close()

    async with asyncio.timeout(WAIT):
        with pytest.raises(RuntimeError, match="closed"):
            await store.append("app-a", 1, [lost(2)], META)
