"""An app on servers reaching its environment's database, on a real swarm: a Redis database
runs on the manager (the host's engine, where its volume is), the app's copies run on the lab's
two workers, and from inside a copy on a worker the database's name (the host its variables
give) resolves over the environment's overlay and its port answers Redis's protocol; the
copies answer there by the app's name too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from rivetr.adapters.runtime.base import MANAGED_LABEL
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp, CreateProject, DeleteEnvironment
from rivetr.domain.scale_events import Placement
from rivetr.domain.scaling import ScaleApp
from rivetr.service.reactors.database_containers import network_name
from rivetr.service.reactors.overlay import overlay_name
from tests.database_images import REDIS, ensure_image
from tests.integration.deploy_helpers import AppRepo
from tests.integration.test_database_backups import create_running, remove_databases
from tests.integration.test_replicated_deploy import HEALTH, POOL, deploy, lab, on_lab

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker, pytest.mark.swarm]

__all__ = ["lab"]  # the swarm lab, a fixture of this module too
OVERLAY = overlay_name(network_name("default", "default", "production"))


@pytest.fixture
async def services(lab: Any, tmp_path: Path) -> AsyncIterator[Services]:
    import docker

    client = docker.from_env()
    try:
        redis = ensure_image(client, REDIS)
    finally:
        client.close()
    async with on_lab(lab, tmp_path, database_images={"redis:7-alpine": redis}) as opened:
        try:
            yield opened
        finally:  # the overlay goes with the lab's swarm
            await remove_databases(opened)


async def test_a_copy_on_a_worker_reaches_the_database_by_its_name(
    services: Services, lab: Any, tmp_path: Path
) -> None:
    await create_running(services, "redis", "cache")
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1")
    env = {"CACHE_HOST": "${{cache.HOST}}", "CACHE_PORT": "${{cache.PORT}}"}
    await services.apps.handle(
        SYSTEM, CreateApp(name="web", git_url=str(repo.path), port=8080, health=HEALTH, env=env)
    )
    placement = Placement(constraints=POOL, spread="pool")
    await services.apps.scale(SYSTEM, ScaleApp(name="web", replicas=2, placement=placement))

    deployment_id = await deploy(services, "web")

    service = f"rivetr-web-{deployment_id}"
    [(task_network, aliases)] = {
        (n["Target"], tuple(n.get("Aliases", [])))
        for t in lab.client.api.services(filters={"name": service})
        for n in t["Spec"]["TaskTemplate"].get("Networks", [])
    }
    assert lab.client.api.inspect_network(task_network)["Name"] == OVERLAY
    assert aliases == ("web",)
    for worker in lab.workers:
        found = lab.exec(
            worker,
            "docker",
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.swarm.service.name={service}",
        )
        [container] = found.stdout.split()
        said = lab.exec(worker, "docker", "exec", container, "sh", "-c", "echo $CACHE_HOST")
        assert said.stdout.strip() == "cache"
        # Redis answers an unauthenticated PING with NOAUTH: a reply only the server gives
        answer = lab.exec(
            worker,
            "docker",
            "exec",
            container,
            "sh",
            "-c",
            '(printf "PING\\r\\n"; sleep 2) | timeout 5 nc "$CACHE_HOST" "$CACHE_PORT"',
            check=False,
        )
        assert "NOAUTH" in answer.stdout, (answer.exit_code, answer.stdout, answer.stderr)
        fetch = "timeout 5 wget -q -O - http://web:8080/"  # the copies, by the app's name
        assert lab.exec(worker, "docker", "exec", container, "sh", "-c", fetch).stdout == "v1"


async def test_a_deleted_environment_takes_its_overlay_and_its_bridge_off_the_engine(
    services: Services, lab: Any
) -> None:
    """What an app of `shop/staging` on servers left (its overlay on the swarm, its bridge on
    the manager) goes from the real engine when the environment is deleted."""
    await services.projects.run(
        SYSTEM, CreateProject(team="default", project="shop", environments=["staging"])
    )
    bridge = network_name("default", "shop", "staging")
    overlay = overlay_name(bridge)

    def on_engine() -> dict[str, str]:
        listed = lab.client.api.networks()
        return {n["Name"]: n["Driver"] for n in listed if n["Name"] in (bridge, overlay)}

    runtime = services.engine.runtime
    assert runtime is not None
    await runtime.create_network(bridge, {MANAGED_LABEL: "true"})
    await services.swarm_engine().create_network(overlay, {MANAGED_LABEL: "true"})
    with anyio.fail_after(10):  # a new overlay is listed a moment with no driver named yet
        while on_engine() != {bridge: "bridge", overlay: "overlay"}:  # noqa: ASYNC110
            await anyio.sleep(0.05)

    deleted = DeleteEnvironment(team="default", project="shop", environment="staging")
    await services.projects.run(SYSTEM, deleted)

    with anyio.fail_after(10):
        while on_engine():  # noqa: ASYNC110
            await anyio.sleep(0.05)
