"""Engine overhead per deploy: what Rivetr adds to a deployment beyond the engine's own work.

Runs the real service in-process (Services, as `rivetr serve` composes it) against the real
engine, on a fresh data directory, with a git repository of a busybox httpd app. It deploys
--deploys times (each a new commit), and for each deployment reads from the log the wall time
from `deployment.requested` to `deployment.traffic_switched`, and from a timing wrapper around
the runtime the engine's own time in `build_image` and `run_container`. It prints, per deploy:

  total      requested -> traffic switched, from the events' recorded_at
  engine     build_image + run_container, as the engine took them
  overhead   total - engine                                        (the issue's definition)
  fetch      the git fetch (SourceFetched.duration_ms)
  health     first probe sent -> healthy (the app's own boot, HealthProbed + DeploymentHealthy)
  rivetr     total - engine - fetch - health: event appends, read-model waits, scheduling

Goal: overhead <= 100 ms (issue 23; it was 150 ms in issue 3).

    python benchmarks/deploy_overhead.py
    python benchmarks/deploy_overhead.py --deploys 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from local_git import git

from rivetr.adapters.runtime.base import ContainerRuntime
from rivetr.adapters.runtime.baseimage import ensure_busybox_image
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.settings import HealthCheckInput

GOAL_MS = 100.0
DOCKERFILE = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


class TimedRuntime:
    """The runtime, with the time spent in its build and run calls added up per call."""

    def __init__(self, inner: ContainerRuntime) -> None:
        self.inner = inner
        self.calls: list[tuple[str, float]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def build_image(self, *args: Any, **kwargs: Any) -> str:
        start = time.perf_counter()
        try:
            return await self.inner.build_image(*args, **kwargs)
        finally:
            self.calls.append(("build", time.perf_counter() - start))

    async def run_container(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await self.inner.run_container(*args, **kwargs)
        finally:
            self.calls.append(("run", time.perf_counter() - start))


def commit(repo: Path, n: int) -> None:
    (repo / "Dockerfile").write_text(DOCKERFILE)
    (repo / "index.html").write_text(f"release {n}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"release {n}")


def seconds_between(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


async def measure(folder: Path, deploys: int) -> list[dict[str, float]]:
    repo = folder / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    services = await Services.open(
        Settings(
            data_dir=str(folder / "data"),
            drain_s=0,
            poll_interval_s=2.0,
            proxy_enabled=False,  # the overhead measured is the pipeline's, not the proxy's
            git_local_dirs=[str(folder)],  # where the measured repository is made
        )
    )
    rows = []
    app = "bench"
    try:
        async with services.background():
            await asyncio.wait_for(services.engine.ready.wait(), 30)
            inner = services.engine.runtime
            if inner is None:
                raise SystemExit(f"no container engine: {services.engine.problem}")
            await ensure_busybox_image(inner)
            timed = TimedRuntime(inner)
            services.engine.runtime = timed  # type: ignore[assignment]
            health = HealthCheckInput(path="/", interval_s=0.05, timeout_s=1, boot_deadline_s=10)
            await services.apps.handle(
                SYSTEM, CreateApp(name=app, git_url=str(repo), port=8080, health=health)
            )
            for n in range(1, deploys + 1):
                commit(repo, n)
                timed.calls.clear()
                after = await services.store.head()
                deployment_id = await services.deployments.request(SYSTEM, app)
                status = await outcome(services, deployment_id, after)
                if status != "live":
                    raise SystemExit(f"deploy {n} ended {status}")
                rows.append(
                    breakdown(
                        await services.store.read_stream(f"deployment-{deployment_id}"), timed
                    )
                )
            await asyncio.sleep(0.5)  # let the last retirement finish
            for container in await inner.list_containers({"rivetr.app": app}):
                await inner.remove_container(container.name, force=True)
            for image in await inner.list_images({"rivetr.app": app}):
                for tag in image.tags:
                    await inner.remove_image(tag)
    finally:
        await services.close()
    return rows


async def outcome(services: Services, deployment_id: str, after: int) -> str:
    """Follow the log until the deployment goes live or ends; return which."""
    endings = {
        "deployment.traffic_switched": "live",
        "deployment.failed": "failed",
        "deployment.rolled_back": "rolled_back",
        "deployment.cancelled": "cancelled",
    }
    async for recorded in services.store.subscribe(after):
        if recorded.stream_id == f"deployment-{deployment_id}" and recorded.type in endings:
            return endings[recorded.type]
    raise AssertionError("the log ended")


def breakdown(history: list[Any], timed: TimedRuntime) -> dict[str, float]:
    at = {e.type: e.recorded_at for e in history}
    first_probe = next(e.recorded_at for e in history if e.type == "deployment.health_probed")
    probe_ms = next(e.event.duration_ms for e in history if e.type == "deployment.health_probed")
    fetched = next(e.event for e in history if e.type == "deployment.source_fetched")
    total = seconds_between(at["deployment.requested"], at["deployment.traffic_switched"])
    engine = sum(seconds for _, seconds in timed.calls)
    # the app's own boot: from sending the first probe (its recorded_at is after its answer)
    health = seconds_between(first_probe, at["deployment.healthy"]) + probe_ms / 1000
    fetch = fetched.duration_ms / 1000
    return {
        "total": total * 1000,
        "engine": engine * 1000,
        "overhead": (total - engine) * 1000,
        "fetch": fetch * 1000,
        "health": health * 1000,
        "rivetr": (total - engine - fetch - health) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deploys", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the medians and each deploy here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rivetr-bench-deploy-"))
    try:
        rows = asyncio.run(measure(folder, args.deploys))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    columns = ["total", "engine", "overhead", "fetch", "health", "rivetr"]
    print(f"engine overhead per deploy, {len(rows)} deploys, milliseconds")
    print(f"{'deploy':<8}" + "".join(f"{c:>10}" for c in columns))
    for n, row in enumerate(rows, 1):
        print(f"{n:<8}" + "".join(f"{row[c]:>10.1f}" for c in columns))
    print(
        f"{'median':<8}"
        + "".join(f"{statistics.median(r[c] for r in rows):>10.1f}" for c in columns)
    )
    overhead = statistics.median(r["overhead"] for r in rows)
    met = "met" if overhead <= GOAL_MS else "NOT met"
    print(f"goal: overhead <= {GOAL_MS:.0f} ms: {met} (median {overhead:.1f} ms)")
    if args.json:
        medians = {c: statistics.median(r[c] for r in rows) for c in columns}
        args.json.write_text(json.dumps({"median_ms": medians, "deploys": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
