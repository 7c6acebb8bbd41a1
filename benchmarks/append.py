"""Event append throughput of SqliteEventStore against raw sqlite3 on the same rows.

For each writer count W (default 1, 10, 100), on a fresh events.db:
  store    N events split evenly over W asyncio tasks, each appending to its own stream, one
           event per `append` call, with the right expected_version (group commit batches the
           tasks' appends into shared transactions);
  raw (a)  the same N rows (precomputed, hashes included, with the store's own encoding and
           hash functions) inserted by ONE executemany in ONE transaction: the ceiling;
  raw (b)  the same rows, one transaction per row (BEGIN IMMEDIATE, executemany of 1 row,
           COMMIT): the transaction boundaries of one append per commit, i.e. what W=1 does;
  raw (c)  the same rows, W to a transaction: the most group commit can gather while each of
           the W writers waits on its own append, so SQLite's own ceiling for the store at W.
Raw runs use the project's migration and the store's pragmas (WAL, synchronous=NORMAL). Each
figure is the median of --repeat runs, each on a fresh database. Goal: store >= 0.5 x raw.

    python benchmarks/append.py
    python benchmarks/append.py --events 50000 --writers 1 10 100 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import msgspec

from rivetr.adapters.eventstore.base import GENESIS_HASH, EventMeta
from rivetr.adapters.eventstore.chain import chain_event
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.adapters.eventstore.writer import INSERT
from rivetr.adapters.migrations import migrate
from rivetr.domain.events import AppSettingsChanged

GOAL = 0.5
Row = tuple[object, ...]


def stream_of(writer: int) -> str:
    return f"app-bench-{writer}"


def event_for(writer: int, i: int) -> AppSettingsChanged:
    return AppSettingsChanged(name=f"bench-{writer}", port=1024 + i % 60000)


def meta_for(writer: int) -> EventMeta:
    return EventMeta(actor="token:bench", correlation_id=f"bench-correlation-{writer}")


# --- the store -------------------------------------------------------------------------------


async def _store_run(path: Path, writers: int, per_writer: int) -> float:
    store = await SqliteEventStore.open(path)
    try:

        async def write(w: int) -> None:
            stream, meta = stream_of(w), meta_for(w)
            for i in range(per_writer):
                await store.append(stream, i, [event_for(w, i)], meta)

        start = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for w in range(writers):
                group.create_task(write(w))
        elapsed = time.perf_counter() - start
        head = await store.head()
        if head != writers * per_writer:
            raise RuntimeError(f"store holds {head} events, expected {writers * per_writer}")
        return elapsed
    finally:
        await store.close()


def store_run(path: Path, writers: int, per_writer: int) -> float:
    return asyncio.run(_store_run(path, writers, per_writer))


# --- raw sqlite3 -----------------------------------------------------------------------------


def make_rows(writers: int, per_writer: int) -> list[Row]:
    """The rows the store would write, in the order its writers interleave (round robin)."""
    recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
    prev_hash = GENESIS_HASH
    rows: list[Row] = []
    position = 0
    metas = [meta_for(w) for w in range(writers)]
    for i in range(per_writer):
        for w in range(writers):
            position += 1
            stream_id, version, meta = stream_of(w), i + 1, metas[w]
            linked = chain_event(
                prev_hash, position, stream_id, version, event_for(w, i), meta, recorded_at
            )
            rows.append(msgspec.structs.astuple(linked))
            prev_hash = linked.hash
    return rows


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn, "events")
    return conn


def raw_one_transaction(path: Path, rows: list[Row]) -> float:
    conn = raw_connection(path)
    try:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def raw_transactions_of(path: Path, rows: list[Row], size: int) -> float:
    """`rows` in transactions of `size` rows, one executemany each."""
    conn = raw_connection(path)
    try:
        start = time.perf_counter()
        for first in range(0, len(rows), size):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, rows[first : first + size])
            conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


# --- running ---------------------------------------------------------------------------------


def median_seconds(repeat: int, tmp: Path, run: Callable[[Path], float]) -> float:
    times = []
    for _ in range(repeat):
        folder = Path(tempfile.mkdtemp(dir=tmp))
        try:
            times.append(run(folder / "events.db"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per run (20000)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median (3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    print(
        f"append throughput, {args.events} events per run, median of {args.repeat} runs,"
        f" sqlite {sqlite3.sqlite_version}, python {sys.version.split()[0]}"
    )
    print()
    header = (
        f"{'W':>4}{'store ev/s':>12}{'raw(a) ev/s':>13}{'raw(b) ev/s':>13}{'raw(c) ev/s':>13}"
        f"{'enc+hash ev/s':>15}{'store/raw(a)':>14}{'store/raw(b)':>14}{'store/raw(c)':>14}"
    )
    print(header)
    results = []
    figures: dict[str, dict[str, float]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="rivetr-bench-append-"))
    try:
        for writers in args.writers:
            per_writer = args.events // writers
            n = per_writer * writers
            start = time.perf_counter()
            rows = make_rows(writers, per_writer)
            prepare = time.perf_counter() - start
            store_s = median_seconds(
                args.repeat, tmp, partial(store_run, writers=writers, per_writer=per_writer)
            )
            raw_a_s = median_seconds(args.repeat, tmp, partial(raw_one_transaction, rows=rows))
            raw_b_s = median_seconds(
                args.repeat, tmp, partial(raw_transactions_of, rows=rows, size=1)
            )
            raw_c_s = median_seconds(
                args.repeat, tmp, partial(raw_transactions_of, rows=rows, size=writers)
            )
            store, raw_a, raw_b, raw_c = n / store_s, n / raw_a_s, n / raw_b_s, n / raw_c_s
            results.append((writers, store / raw_a, store / raw_b))
            figures[str(writers)] = {
                "store": store,
                "raw_a": raw_a,
                "raw_b": raw_b,
                "raw_c": raw_c,
                "enc_hash": n / prepare,
            }
            print(
                f"{writers:>4}{store:>12,.0f}{raw_a:>13,.0f}{raw_b:>13,.0f}{raw_c:>13,.0f}"
                f"{n / prepare:>15,.0f}{store / raw_a:>14.2f}{store / raw_b:>14.2f}"
                f"{store / raw_c:>14.2f}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        summary = {"events": args.events, "repeat": args.repeat, "writers": figures}
        args.json.write_text(json.dumps(summary, indent=2))

    print()
    print("raw(a): one executemany, one transaction (ceiling). raw(b): one transaction per row.")
    print("raw(c): W rows a transaction (the most W writers waiting each on its own append give).")
    print("enc+hash: building the rows alone (msgspec encode, uuid4, SHA-256 link), no SQLite.")
    print(f"goal: store >= {GOAL} x raw")
    for writers, vs_a, vs_b in results:
        print(
            f"  W={writers:<4} vs raw(a): {'met' if vs_a >= GOAL else 'NOT met'} ({vs_a:.2f})"
            f"   vs raw(b): {'met' if vs_b >= GOAL else 'NOT met'} ({vs_b:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
