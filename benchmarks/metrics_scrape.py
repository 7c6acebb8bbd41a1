"""/metrics with many apps: how long the server takes to render one scrape, and the whole
request over loopback through `rivetr serve`.

A log is generated (through the store's own BatchWriter) with --apps apps, each with a domain
and its certificate, --deployments deployments (each with its steps: requested, container
started, healthy, traffic switched, then superseded and retired by the next; every fifth one
fails at its build instead) and a few webhook deliveries; the read model is rebuilt from it.
Then, in one process, the proxy's counters are given traffic for every app (four status codes,
latencies spread over the buckets), and `Metrics.render()` is timed --renders times after a
warm-up: the server's own time for one scrape, all of it (queries, host figures, text). Last,
`rivetr serve` is started on the same data directory with a metrics token and GET /metrics is
timed --requests times (HTTP on loopback included).

Goal (issue 20): a scrape with 100 apps in < 5 ms of server time.

    python benchmarks/metrics_scrape.py [--apps 100] [--deployments 10] [--renders 500]
"""

from __future__ import annotations

import argparse
import asyncio
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
from timeline import rebuild

from rivetr.adapters.eventstore.base import ConcurrencyError, EventMeta, StreamAppend
from rivetr.adapters.eventstore.writer import AppendRequest, BatchWriter
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.events import (
    AppCreated,
    CertificateInstalled,
    ContainerStarted,
    DeploymentFailed,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentRetired,
    DeploymentSuperseded,
    Event,
    TrafficSwitched,
    WebhookReceived,
)

TOKEN = "bench-metrics-token-0123456789"


def app_events(i: int, deployments: int) -> Iterator[tuple[str, Event]]:
    """One app's history: created with a domain, its certificate, its deployments, webhooks."""
    name, app_id = f"app{i:04d}", f"id{i:04d}"
    domain = f"{name}.example.com"
    yield f"app-{app_id}", AppCreated(app_id=app_id, name=name, domains=[domain])
    yield (
        f"certificate-{domain}",
        CertificateInstalled(
            domain=domain,
            app=name,
            source="acme",
            not_before="2026-11-01T00:00:00+00:00",
            not_after="2027-01-30T00:00:00+00:00",
            issuer="CN=bench",
            serial=f"{i:x}",
            fingerprint=f"{i:064x}",
        ),
    )
    live: str | None = None
    for n in range(deployments):
        d = f"{app_id}-d{n:03d}"
        stream = f"deployment-{d}"
        yield stream, DeploymentRequested(deployment_id=d, app=name, app_id=app_id, branch="main")
        if n % 5 == 4:
            yield stream, DeploymentFailed(deployment_id=d, step="build", reason="exit 1")
            continue
        yield (
            stream,
            ContainerStarted(
                deployment_id=d,
                container_id=f"{n:064x}",
                container_name=f"rivetr-{name}-{d}",
                image=f"rivetr/{name}:{d}",
                host_port=30000 + n,
                duration_ms=300,
            ),
        )
        yield stream, DeploymentHealthy(deployment_id=d, probes=1, duration_ms=800)
        yield stream, TrafficSwitched(deployment_id=d, app=name, host_port=30000 + n)
        if live is not None:
            old = f"deployment-{live}"
            yield old, DeploymentSuperseded(deployment_id=live, by_deployment_id=d, drain_s=30)
            yield old, DeploymentRetired(deployment_id=live, container_removed=True)
        live = d
    for decision in ("deploy", "ignored", "refused"):
        yield (
            f"webhooks-{app_id}",
            WebhookReceived(
                app=name,
                provider="github",
                event="push",
                delivery_id=None,
                signature="valid",
                decision=decision,
                reason="bench",
            ),
        )


def generate(events_db: Path, apps: int, deployments: int) -> int:
    writer = BatchWriter(events_db)
    versions: dict[str, int] = {}
    batch: list[AppendRequest] = []
    meta = EventMeta(actor="token:bench", team="default")
    count = 0
    try:
        for i in range(apps):
            resource = f"id{i:04d}"
            for stream_id, event in app_events(i, deployments):
                version = versions.get(stream_id, 0)
                part = StreamAppend(stream_id, version, [event])
                batch.append(
                    AppendRequest([part], msgspec.structs.replace(meta, resource=resource))
                )
                versions[stream_id] = version + 1
                count += 1
        for result in writer.commit_batch(batch):
            if isinstance(result, ConcurrencyError):
                raise result
    finally:
        writer.close()
    return count


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p99_ms": round(times[max(int(len(times) * 0.99) - 1, 0)] * 1000, 2),
        "mean_ms": round(statistics.fmean(times) * 1000, 2),
    }


async def render_times(data: Path, apps: int, renders: int) -> dict[str, object]:
    services = await Services.open(
        Settings(data_dir=str(data), engine="none", proxy_enabled=False, metrics_token=TOKEN)
    )
    try:
        stats = services.proxy.stats
        for i in range(apps):
            for code, seconds in ((200, 0.002), (304, 0.0004), (404, 0.01), (502, 1.5)):
                for _ in range(3):
                    stats.observe(f"app{i:04d}", code, seconds)
        for _ in range(20):  # a few appends, so the append histogram has something
            services.store.append_latency.observe(0.001)  # type: ignore[attr-defined]
        for _ in range(20):
            await services.metrics.render()  # warm-up: statements prepared, pages cached
        times = []
        text = ""
        for _ in range(renders):
            started = time.perf_counter()
            text = await services.metrics.render()
            times.append(time.perf_counter() - started)
        samples = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        return {**percentiles(times), "bytes": len(text), "samples": samples}
    finally:
        await services.close()


def request_times(url: str, count: int) -> dict[str, float]:
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
        times.append(time.perf_counter() - started)
    return percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--deployments", type=int, default=10, help="per app")
    parser.add_argument("--renders", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="rivetr-bench-metrics-")) / "data"
    data.mkdir(parents=True)
    events = generate(data / "events.db", args.apps, args.deployments)
    position, rebuilt = asyncio.run(rebuild(data))
    assert position == events
    figures: dict[str, object] = {
        "apps": args.apps,
        "deployments": args.apps * args.deployments,
        "log_events": events,
        "rebuild_s": round(rebuilt, 2),
        "server render (Metrics.render)": asyncio.run(render_times(data, args.apps, args.renders)),
    }
    with served(
        "rivetr-bench-metrics-serve-", data, RIVETR_ACME_AUTO="false", RIVETR_METRICS_TOKEN=TOKEN
    ) as (url, _, _):
        request_times(url, 20)  # warm-up
        figures["GET /metrics over loopback (no proxy traffic)"] = request_times(url, args.requests)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
