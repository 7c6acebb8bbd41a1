"""Taking the lab down: the same steps end a session and start one (a killed run's leftovers),
each attempted even when an earlier one failed, every failure reported together at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import docker.errors
from docker import DockerClient
from docker.models.containers import Container

from tests.swarm_lab.network import LABEL, NETWORK, PREFIX, LabError, remove_host_forwards
from tests.swarm_lab.swarm import Say, host_swarm, leave_swarm, remove_services

WORKER_LEAVE_TIMEOUT = 10


def _lab_containers(client: DockerClient) -> list[Container]:
    return [
        c
        for c in client.containers.list(all=True, filters={"name": PREFIX})
        if c.name is not None and c.name.startswith(f"{PREFIX}-")
    ]


def _leave(worker: Container) -> str | None:
    """`docker swarm leave --force` in the worker; None once left (or in no swarm), else why not."""
    try:
        worker.reload()
        if worker.status != "running":  # a killed worker has nothing to leave
            return None
        leave = ["timeout", str(WORKER_LEAVE_TIMEOUT), "docker", "swarm", "leave", "--force"]
        done = worker.exec_run(leave)
    except docker.errors.APIError as exc:
        return str(exc)
    if done.exit_code == 0 or b"not part of a swarm" in done.output:
        return None
    return str(done.output.decode(errors="replace").strip())


def tear_down(client: DockerClient, *, swarm_is_ours: bool, say: Say) -> None:
    """Remove everything the lab (or Rivetr inside a test) made, in the order that works:

    services (and their tasks' containers), the workers' own swarm membership, the host's
    (`leave --force`, only when `swarm_is_ours`: a swarm someone else made is never left),
    `docker_gwbridge`/`ingress`, the workers and their volumes, the bridge, the NAT rules."""
    started = time.monotonic()
    failures: list[str] = []

    def attempt(what: str, step: Callable[[], object]) -> None:
        try:
            step()
        except (docker.errors.APIError, LabError, OSError) as exc:
            failures.append(f"{what}: {exc}")

    workers = _lab_containers(client)
    if swarm_is_ours and host_swarm(client).joined:
        attempt("removing services", lambda: remove_services(client, say))
        # each leave takes ~1.5 s: the workers leave together
        with ThreadPoolExecutor(max_workers=max(1, len(workers))) as pool:
            for worker, problem in zip(workers, pool.map(_leave, workers), strict=True):
                if problem:
                    failures.append(f"{worker.name} leaving the swarm: {problem}")
        attempt("the host leaving the swarm", lambda: leave_swarm(client))
    for worker in workers:
        attempt(f"removing {worker.name}", partial(worker.remove, force=True, v=True))
    for volume in client.volumes.list(filters={"label": LABEL}):
        attempt(f"removing volume {volume.name}", volume.remove)
    for network in client.networks.list(names=[NETWORK]):
        if network.name == NETWORK:
            attempt(f"removing network {NETWORK}", network.remove)
    attempt("removing the lab's NAT rules", remove_host_forwards)
    if failures:
        raise LabError("tearing the swarm lab down left things behind:\n" + "\n".join(failures))
    if workers:
        say(f"tore down {len(workers)} worker(s) in {time.monotonic() - started:.1f} s")
