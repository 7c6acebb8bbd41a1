"""Deploy time of a 3-replica app on a real swarm, against a plain `docker service update`.

Builds the swarm lab of the tests (`tests/swarm_lab`: the host's engine the manager, two worker
engines in containers, Debian's `docker-registry` on loopback that the workers reach under the
same address), runs Rivetr in-process on a fresh data directory (`Services`, as `rivetr serve`
composes it) with the workers labelled to take the copies, and then, --runs times each, in
turns:

  rivetr    a redeploy of the app's live image (a rollback's path: no fetch, no build):
            request -> traffic balanced, from the events' recorded_at. It pushes the image
            (by digest; the layers are in the registry already), starts a new service of 3
            copies beside the old one, probes each copy where it runs, then switches
  docker    `docker service update --force --detach=false` of a plain 3-replica service of the
            same image (pulled from the same registry, placed on the same workers), with the
            engine's defaults (one task at a time, each watched 5 s) and with
            `--update-parallelism 3 --update-monitor 1s`, the closest it comes to all at once

Both end with 3 copies of the new release running; Rivetr's also have passed a health check
each and take the proxy's traffic, which `docker service update` neither checks nor routes.
Needs root (the lab's NAT rules) and the `docker-registry` package.

    python benchmarks/swarm_deploy.py
    python benchmarks/swarm_deploy.py --runs 10
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker  # type: ignore[import-untyped]

from rivetr.adapters.runtime.baseimage import ensure_busybox_image
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.scale_events import Placement
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.settings import HealthCheckInput
from rivetr.domain.swarm import ChangeNode, InitSwarm
from tests.engine import connect_real_engine
from tests.integration.deploy_helpers import AppRepo
from tests.net import free_port
from tests.swarm_lab import Lab, Registry

POOL = {"pool": "web"}
HEALTH = HealthCheckInput(path="/", interval_s=0.2, timeout_s=1, boot_deadline_s=60)
PLAIN = "bench-plain"


async def rivetr_redeploys(
    lab: Lab, registry: str, runs: int, work: Path
) -> tuple[list[float], str]:
    """The seconds of each redeploy, and the image Rivetr pushed (what every copy pulled)."""
    runtime = await connect_real_engine("docker")
    await ensure_busybox_image(runtime)
    await runtime.close()
    services = await Services.open(
        Settings(
            data_dir=str(work / "data"),
            engine="docker",
            drain_s=0.5,
            proxy_host="127.0.0.1",
            proxy_http_port=free_port(),
            proxy_https_port=free_port(),
            acme_auto=False,
            git_local_dirs=[str(work)],
            swarm_registry=registry,
        )
    )
    seconds = []
    try:
        async with services.background():
            await services.engine.ready.wait()
            await services.servers.init(SYSTEM, InitSwarm(advertise_addr=lab.gateway))
            await services.swarm_keeper.look()
            for worker in lab.workers:  # a worker's node is known by its container's name
                await services.servers.change(SYSTEM, worker, ChangeNode(labels=POOL))
            repo = AppRepo(work / "repo")
            repo.commit("v1")
            app = CreateApp(name="bench", git_url=str(repo.path), port=8080, health=HEALTH)
            await services.apps.handle(SYSTEM, app)
            placed = Placement(constraints=POOL, spread="pool")
            await services.apps.scale(SYSTEM, ScaleApp(name="bench", replicas=3, placement=placed))
            first = await _deploy(services, await services.deployments.request(SYSTEM, "bench"))
            image = (await services.recorder.state(first)).image
            pushed = next(
                r.event.image  # type: ignore[attr-defined]
                for r in await services.store.read_stream(f"deployment-{first}")
                if r.type == "deployment.image_pushed"
            )
            for _ in range(runs):
                asked = await services.deployments.request(SYSTEM, "bench", image=image)
                await _deploy(services, asked)
                seconds.append(await _took(services, asked))
            swarm = services.swarm_engine()
            for name in await swarm.services({"rivetr.managed": "true"}):
                await swarm.remove_service(name)
    finally:
        await services.close()
    return seconds, pushed


async def _deploy(services: Services, deployment_id: str) -> str:
    ended = ("live", "failed", "cancelled")
    while (state := await services.recorder.state(deployment_id)).status not in ended:  # noqa: ASYNC110  # the pipeline is another task
        await asyncio.sleep(0.05)
    if state.status != "live":
        view = await services.read.deployments.by_id(deployment_id)
        raise SystemExit(f"deployment {deployment_id} {state.status}: {view}")
    return deployment_id


async def _took(services: Services, deployment_id: str) -> float:
    history = await services.store.read_stream(f"deployment-{deployment_id}")
    times = {r.type: datetime.fromisoformat(r.recorded_at) for r in history}
    return (times["deployment.traffic_balanced"] - times["deployment.requested"]).total_seconds()


def docker_updates(client: docker.DockerClient, image: str, runs: int, *flags: str) -> list[float]:
    subprocess.run(
        ["docker", "service", "create", "--detach=false", "--quiet", "--name", PLAIN,
         "--replicas", "3", "--constraint", "node.labels.pool==web",
         "--placement-pref", "spread=node.labels.pool",
         "--publish", "mode=host,target=8080", "--endpoint-mode", "dnsrr", image],
        check=True, capture_output=True,
    )  # fmt: skip
    seconds = []
    try:
        for _ in range(runs):
            started = time.monotonic()
            subprocess.run(
                ["docker", "service", "update", "--force", "--detach=false", "--quiet",
                 *flags, PLAIN],
                check=True, capture_output=True,
            )  # fmt: skip
            seconds.append(time.monotonic() - started)
    finally:
        subprocess.run(["docker", "service", "rm", PLAIN], capture_output=True)
    return seconds


def _row(label: str, seconds: list[float]) -> str:
    return (
        f"{label:<48} median {statistics.median(seconds):6.2f} s"
        f"  min {min(seconds):6.2f}  max {max(seconds):6.2f}  (n={len(seconds)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    client = docker.from_env()
    with (
        tempfile.TemporaryDirectory() as scratch,
        Registry() as registry,
        Lab(client, workers=2) as lab,
    ):
        lab.share_loopback(registry.port)
        lab.init_swarm()  # every worker joined
        work = Path(scratch)
        ours, pushed = asyncio.run(rivetr_redeploys(lab, registry.address, args.runs, work))
        defaults = docker_updates(client, pushed, args.runs)
        parallel = docker_updates(
            client, pushed, args.runs, "--update-parallelism", "3", "--update-monitor", "1s"
        )
    print(_row("rivetr: redeploy, 3 copies, checked and switched", ours))
    print(_row("docker service update (defaults)", defaults))
    print(_row("docker service update (parallelism 3, monitor 1s)", parallel))
    print(
        f"rivetr / docker defaults: {statistics.median(ours) / statistics.median(defaults):.2f} x;"
        f" rivetr / docker parallel: {statistics.median(ours) / statistics.median(parallel):.2f} x"
    )


if __name__ == "__main__":
    main()
