"""Dashboard render time over a big log: an app's page (its 20 newest deployments with their full
timelines) and a deployment's page, served by `rivetr serve` from a log of --events events.

The log is generated as benchmarks/rebuild.py does (a seeded mix of app events, through the
store's own BatchWriter), plus --deployments deployments of one app, each with its ten steps
(requested ... traffic_switched, then superseded and retired by the next), spread through the
log. The read model is rebuilt from it, `rivetr serve` is started on it (no engine), and each
page is fetched --requests times in a row, after a warm-up; p50 and p99 of the full request
(server-side rendering and the HTTP round trip on loopback).

Goal (issue 7): the timeline page's p99 < 50 ms with a 1M-event log.

    python benchmarks/timeline.py [--events 1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import msgspec
from idle import served
from rebuild import generate_events

from rivetr.adapters.eventstore.base import ConcurrencyError, EventMeta, StreamAppend
from rivetr.adapters.eventstore.writer import AppendRequest, BatchWriter
from rivetr.domain.events import (
    AppCreated,
    BuildStarted,
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentRetired,
    DeploymentSuperseded,
    Event,
    HealthProbed,
    ImageBuilt,
    SourceFetched,
    TrafficSwitched,
)
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner

APP = "app00001"


def deployment_steps(n: int, previous: str | None, app_id: str) -> list[tuple[str, Event]]:
    d = f"dep{n:06d}"
    stream = f"deployment-{d}"
    steps: list[tuple[str, Event]] = [
        (stream, DeploymentRequested(deployment_id=d, app=APP, app_id=app_id, branch="main")),
        (
            stream,
            SourceFetched(
                deployment_id=d, commit_sha=f"{n:040x}", commit_message=f"v{n}", duration_ms=800
            ),
        ),
        (stream, BuildStarted(deployment_id=d, builder="dockerfile")),
        (stream, ImageBuilt(deployment_id=d, image=f"rivetr/{APP}:{d}", duration_ms=9000)),
        (
            stream,
            ContainerStarted(
                deployment_id=d,
                container_id=f"{n:064x}",
                container_name=f"rivetr-{APP}-{d}",
                image=f"rivetr/{APP}:{d}",
                host_port=30000 + n % 1000,
                duration_ms=300,
            ),
        ),
        (
            stream,
            HealthProbed(deployment_id=d, attempt=1, ok=False, error="refused", duration_ms=2),
        ),
        (stream, HealthProbed(deployment_id=d, attempt=2, ok=True, status=200, duration_ms=3)),
        (stream, DeploymentHealthy(deployment_id=d, probes=2, duration_ms=1200)),
        (
            stream,
            TrafficSwitched(
                deployment_id=d,
                app=APP,
                host_port=30000 + n % 1000,
                previous_deployment_id=previous,
            ),
        ),
    ]
    if previous is not None:
        old = f"deployment-{previous}"
        steps += [
            (old, DeploymentSuperseded(deployment_id=previous, by_deployment_id=d, drain_s=30)),
            (old, DeploymentRetired(deployment_id=previous, container_removed=True)),
        ]
    return steps


def all_events(total: int, deployments: int) -> Iterator[tuple[str, Event, str | None]]:
    """The app mix, with a deployment of APP (as it is at that point) every so often."""
    every = max(total // max(deployments, 1), 1)
    previous: str | None = None
    made = 0
    app_id = ""
    for i, (stream_id, event, resource) in enumerate(generate_events(total, 2000, seed=7)):
        yield stream_id, event, resource
        if isinstance(event, AppCreated) and event.name == APP:
            app_id, previous = event.app_id, None  # a new app of that name starts afresh
        if i % every == every - 1 and made < deployments and app_id:
            for step in deployment_steps(made, previous, app_id):
                yield (*step, app_id)
            previous, made = f"dep{made:06d}", made + 1


def generate(events_db: Path, total: int, deployments: int) -> float:
    started = time.perf_counter()
    writer = BatchWriter(events_db)
    versions: dict[str, int] = {}
    batch: list[AppendRequest] = []
    meta = EventMeta(actor="token:ci", team="default")
    try:
        for stream_id, event, resource in all_events(total, deployments):
            version = versions.get(stream_id, 0)
            part = StreamAppend(stream_id, version, [event])
            batch.append(AppendRequest([part], msgspec.structs.replace(meta, resource=resource)))
            versions[stream_id] = version + 1
            if len(batch) >= 2000:
                for result in writer.commit_batch(batch):
                    if isinstance(result, ConcurrencyError):
                        raise result
                batch.clear()
        for result in writer.commit_batch(batch):
            if isinstance(result, ConcurrencyError):
                raise result
    finally:
        writer.close()
    return time.perf_counter() - started


async def rebuild(data: Path) -> tuple[int, float]:
    from rivetr.adapters.eventstore.sqlite import SqliteEventStore

    store = await SqliteEventStore.open(data / "events.db")
    runner = ProjectionRunner(store, data / "read.db", all_projections())
    await runner.open()
    started = time.perf_counter()
    position = await runner.rebuild()
    took = time.perf_counter() - started
    await runner.close()
    await store.close()
    return position, took


def timed(url: str, token: str, count: int) -> dict[str, float]:
    request = urllib.request.Request(url, headers={"Cookie": f"rivetr_token={token}"})
    times = []
    for _ in itertools.repeat(None, count):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = answer.read()
        times.append(time.perf_counter() - started)
    assert b"<table" in body
    times.sort()
    return {
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p99_ms": round(times[int(len(times) * 0.99) - 1] * 1000, 1),
        "bytes": len(body),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--deployments", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="rivetr-bench-timeline-")) / "data"
    data.mkdir(parents=True)
    generated = generate(data / "events.db", args.events, args.deployments)
    position, rebuilt = asyncio.run(rebuild(data))
    figures: dict[str, object] = {
        "log_events": position,
        "generate_s": round(generated, 1),
        "rebuild_s": round(rebuilt, 1),
    }
    # the generated apps have domains no CA can reach from here: leave certificates out of it
    with served("rivetr-bench-timeline-serve-", data, RIVETR_ACME_AUTO="false") as (
        url,
        token,
        _,
    ):
        last = f"dep{args.deployments - 1:06d}"
        pages = {
            "app page (20 deployment timelines)": f"{url}/apps/{APP}",
            "deployment page": f"{url}/deployments/{last}",
            "audit page, filtered by app": f"{url}/audit?app={APP}&type=deployment.*",
        }
        for name, page in pages.items():
            timed(page, token, 20)  # warm-up
            figures[name] = timed(page, token, args.requests)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
