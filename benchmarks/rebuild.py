"""Projection rebuild speed: replay a generated log of --events events into a fresh read.db.

The log is generated quickly by calling the store's own BatchWriter.commit_batch directly, in
batches of --batch appends (one event each), with a seeded, realistic mix: --apps applications
created, then settings changes, env changes, some deletions followed by re-creation, a few API
tokens (some revoked) and a few engine events. Then a ProjectionRunner with all_projections() on
a fresh read.db is timed doing `rebuild()`.

With --per-projection, each projection is also rebuilt alone on a fresh read.db, and the floor
is shown: reading the log in the runner's pages (read_logged, as the runner does), and reading
plus decoding every event. A calibration loop (20M additions in pure Python) is timed before
and after: figures on this VM spread widely from run to run, and the loop shows at least how
fast the CPU ran meanwhile.

Goal: rebuild >= 50,000 events/s.

    python benchmarks/rebuild.py
    python benchmarks/rebuild.py --events 200000 --per-projection
    python benchmarks/rebuild.py --keep ../log      # reuse a generated log
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

from rivetr.adapters.eventstore.base import ConcurrencyError, EventMeta, StreamAppend
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.adapters.eventstore.writer import AppendRequest, BatchWriter
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppSettingsChanged,
    EngineConnected,
    EngineLost,
    Event,
    TokenCreated,
    TokenRevoked,
)
from rivetr.domain.settings import BuildSettings, HealthCheck
from rivetr.projections.base import Projection
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner

GOAL = 50_000
RUNNER_PAGE = 2000  # ProjectionRunner.page: the floor reads the log the way the runner does
ACTORS = ["token:ci", "token:deploy-bot", "cli:root", "token:alice", "token:bob"]
ENV_NAMES = ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "LOG_LEVEL", "WORKERS", "SENTRY_DSN"]
BRANCHES = ["main", "develop", "release", "staging"]


# --- generating the log ----------------------------------------------------------------------


def created(app_id: str, name: str, rng: random.Random) -> AppCreated:
    return AppCreated(
        app_id=app_id,
        name=name,
        git_url=f"https://git.example.com/team/{name}.git",
        branch=rng.choice(BRANCHES),
        build=BuildSettings(type=rng.choice(["auto", "dockerfile", "static"])),
        port=rng.choice([3000, 8000, 8080]),
        domains=[f"{name}.example.com"],
        health=HealthCheck(path="/healthz"),
        env={key: f"value-{rng.randrange(1000)}" for key in rng.sample(ENV_NAMES, 3)},
    )


def settings_change(name: str, rng: random.Random) -> AppSettingsChanged:
    roll = rng.random()
    if roll < 0.4:
        return AppSettingsChanged(name=name, port=rng.randrange(1024, 65535))
    if roll < 0.6:
        return AppSettingsChanged(name=name, branch=rng.choice(BRANCHES))
    if roll < 0.8:
        count = rng.randrange(1, 4)
        return AppSettingsChanged(
            name=name, domains=[f"{name}-{i}.example.com" for i in range(count)]
        )
    if roll < 0.9:
        return AppSettingsChanged(
            name=name, health=HealthCheck(path="/health", interval_s=rng.choice([1.0, 5.0]))
        )
    return AppSettingsChanged(
        name=name, git_url=f"https://git.example.com/other/{name}.git", port=8080
    )


def env_change(name: str, rng: random.Random) -> AppEnvChanged:
    names = rng.sample(ENV_NAMES, 3)
    return AppEnvChanged(
        name=name,
        set={names[0]: f"v{rng.randrange(10**6)}", names[1]: "x"},
        unset=[names[2]] if rng.random() < 0.3 else [],
    )


def generate_events(total: int, apps: int, seed: int) -> Iterator[tuple[str, Event, str | None]]:
    """(stream_id, event, the app id it concerns) triples: the apps created, then a seeded mix
    of changes. An app deleted and created again is a new app, with an id of its own, as
    Rivetr records them."""
    rng = random.Random(seed)
    names = [f"app{i:05d}" for i in range(apps)]
    alive = dict.fromkeys(names, True)
    ids = {name: f"{index:012d}" for index, name in enumerate(names)}
    minted = len(names)
    tokens: list[str] = []
    emitted = 0
    for name in names:
        if emitted >= total:
            return
        yield f"app-{ids[name]}", created(ids[name], name, rng), ids[name]
        emitted += 1
    while emitted < total:
        roll = rng.random()
        if roll < 0.0005:  # a token now and then, a tenth of them revoked later
            token_id = f"{rng.getrandbits(48):012x}"
            tokens.append(token_id)
            event: Event = TokenCreated(
                token_id=token_id,
                name=f"bot-{len(tokens)}",
                secret_hash=f"{rng.getrandbits(256):064x}",
                scope=rng.choice(["read", "deploy", "admin"]),
            )
            yield f"token-{token_id}", event, None
        elif roll < 0.00055 and tokens:
            token_id = tokens.pop(rng.randrange(len(tokens)))
            yield f"token-{token_id}", TokenRevoked(token_id=token_id), None
        elif roll < 0.0006:
            lost_or_back: Event = (
                EngineLost(reason="connection refused")
                if rng.random() < 0.5
                else EngineConnected(kind="docker", version="27.0", url="unix:///docker.sock")
            )
            yield "engine", lost_or_back, None
        else:
            name = names[rng.randrange(apps)]
            app_id = ids[name]
            if not alive[name]:  # a deleted app's name is taken again the next time it is picked
                alive[name] = True
                ids[name] = app_id = f"{minted:012d}"
                minted += 1
                yield f"app-{app_id}", created(app_id, name, rng), app_id
            elif roll < 0.006:
                alive[name] = False
                yield f"app-{app_id}", AppDeleted(name=name), app_id
            elif roll < 0.65:
                yield f"app-{app_id}", settings_change(name, rng), app_id
            else:
                yield f"app-{app_id}", env_change(name, rng), app_id
        emitted += 1


def generate_log(path: Path, total: int, apps: int, batch: int, seed: int) -> float:
    """Write the log with BatchWriter.commit_batch; return the seconds it took."""
    start = time.perf_counter()
    writer = BatchWriter(path)
    versions: dict[str, int] = {}
    requests: list[AppendRequest] = []
    metas = [EventMeta(actor=a, correlation_id=f"corr-{i}") for i, a in enumerate(ACTORS)]

    def flush() -> None:
        for result in writer.commit_batch(requests):
            if isinstance(result, ConcurrencyError):
                raise result
        requests.clear()

    try:
        for i, (stream_id, event, app_id) in enumerate(generate_events(total, apps, seed)):
            version = versions.get(stream_id, 0)
            # an app's event records its app and team, as the command handler records them
            team = "default" if app_id is not None else None
            meta = msgspec.structs.replace(metas[i % len(metas)], resource=app_id, team=team)
            requests.append(AppendRequest([StreamAppend(stream_id, version, [event])], meta))
            versions[stream_id] = version + 1
            if len(requests) >= batch:
                flush()
        if requests:
            flush()
    finally:
        writer.close()
    return time.perf_counter() - start


# --- rebuilding ------------------------------------------------------------------------------


async def timed_rebuild(events_db: Path, read_db: Path, projections: list[Projection]) -> float:
    store = await SqliteEventStore.open(events_db)
    runner = ProjectionRunner(store, read_db, projections)
    try:
        await runner.open()
        head = await store.head()
        start = time.perf_counter()
        position = await runner.rebuild()
        elapsed = time.perf_counter() - start
        if position != head or runner.failures:
            raise RuntimeError(f"rebuild reached {position} of {head}: {runner.failures}")
        return elapsed
    finally:
        await runner.close()
        await store.close()


def rebuild_fresh(events_db: Path, read_db: Path, projections: list[Projection]) -> float:
    """Time a rebuild into a read.db that does not exist yet."""
    for stale in read_db.parent.glob(read_db.name + "*"):
        stale.unlink()
    return asyncio.run(timed_rebuild(events_db, read_db, projections))


async def timed_read(events_db: Path, page: int, decode: bool) -> float:
    store = await SqliteEventStore.open(events_db)
    try:
        start = time.perf_counter()
        after = 0
        while batch := await store.read_logged(after=after, limit=page):
            if decode:
                for recorded in batch:
                    recorded.event  # noqa: B018 - the decoding is what is measured
            after = batch[-1].position
        return time.perf_counter() - start
    finally:
        await store.close()


def read_model_counts(read_db: Path) -> dict[str, int]:
    conn = sqlite3.connect(read_db)
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("apps", "tokens", "audit")
        }
    finally:
        conn.close()


def calibration() -> float:
    """Seconds for a fixed pure-Python loop: how fast this CPU is right now."""
    start = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size (1,000,000)")
    parser.add_argument("--apps", type=int, default=2000, help="applications (2000)")
    parser.add_argument("--batch", type=int, default=5000, help="appends per commit (5000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--per-projection", action="store_true", help="also time each projection alone"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the log in this folder, and reuse it when it already holds events.db",
    )
    parser.add_argument(
        "--json", type=Path, help="also write the figures (with the read+decode floor) here"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rivetr-bench-rebuild-"))
    folder = args.keep or tmp
    folder.mkdir(parents=True, exist_ok=True)
    events_db, read_db = folder / "events.db", tmp / "read.db"
    try:
        print(
            f"projection rebuild, python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}"
        )
        generated: float | None = None
        if events_db.exists():
            print(f"reusing the log in {events_db}")
        else:
            seconds = generate_log(events_db, args.events, args.apps, args.batch, args.seed)
            generated = args.events / seconds
            print(
                f"generated {args.events:,} events ({args.apps} apps) in {seconds:.1f} s"
                f" = {args.events / seconds:,.0f} events/s via BatchWriter.commit_batch"
                f" in batches of {args.batch}"
            )
        conn = sqlite3.connect(events_db)
        total = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        mix = conn.execute("SELECT type, COUNT(*) FROM events GROUP BY type ORDER BY 2 DESC")
        print("log: " + ", ".join(f"{t} {n:,}" for t, n in mix))
        conn.close()
        size = sum(p.stat().st_size for p in folder.glob("events.db*")) / 2**20
        print(f"events.db: {size:,.0f} MB")
        print()

        rows: list[tuple[str, float]] = []
        before = calibration()
        elapsed = rebuild_fresh(events_db, read_db, all_projections())
        counts = read_model_counts(read_db)
        rows.append(("rebuild, all projections", elapsed))
        if args.per_projection:
            for projection in all_projections():
                seconds = rebuild_fresh(events_db, read_db, [projection])
                rows.append((f"rebuild, {projection.name} alone", seconds))
        if args.per_projection or args.json:
            for what, decode in (("read_logged only", False), ("read_logged + decode", True)):
                rows.append((what, asyncio.run(timed_read(events_db, RUNNER_PAGE, decode))))

        print(f"{'what':<34}{'seconds':>10}{'events/s':>12}")
        for what, seconds in rows:
            print(f"{what:<34}{seconds:>10.2f}{total / seconds:>12,.0f}")
        rate = total / elapsed
        print()
        print(
            f"calibration loop: {before:.2f} s before, {calibration():.2f} s after"
            " (2.3 s when this VM runs fast)"
        )
        print("read model: " + ", ".join(f"{t} {n:,} rows" for t, n in counts.items()))
        print(
            f"goal: rebuild >= {GOAL:,} events/s: {'met' if rate >= GOAL else 'NOT met'}"
            f" ({rate:,.0f} events/s, {total:,} events in {elapsed:.2f} s)"
        )
        if args.json:
            summary = {
                "events": total,
                "seconds": elapsed,
                "ev_per_s": rate,
                "generated_ev_per_s": generated,
                "rows": {what: total / seconds for what, seconds in rows},
                "floor_ev_per_s": total / dict(rows)["read_logged + decode"],
            }
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
