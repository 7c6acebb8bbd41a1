"""Kamal's standard on the real engine: a broken deploy keeps the old release serving; a good
one replaces it and the old container is drained and retired; a rollback redeploys an old image
without building."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from rivetr.adapters.runtime.baseimage import ensure_busybox_image
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.settings import HealthCheckInput
from tests.engine import connect_real_engine
from tests.integration.deploy_helpers import (
    BROKEN,
    NOT_LISTENING,
    AppRepo,
    get_text,
    step_types,
    wait_for_status,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

FAST_HEALTH = HealthCheckInput(path="/", interval_s=0.2, timeout_s=1, boot_deadline_s=4)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    runtime = await connect_real_engine()
    await ensure_busybox_image(runtime)
    await runtime.close()
    opened = await Services.open(
        Settings(data_dir=str(tmp_path / "data"), drain_s=1, poll_interval_s=0.2)
    )
    try:
        async with opened.background():
            with anyio.fail_after(20):
                await opened.engine.ready.wait()
            yield opened
            await _remove_app_containers(opened)
    finally:
        await opened.close()


async def _remove_app_containers(services: Services) -> None:
    runtime = services.engine.runtime
    assert runtime is not None
    for app in await services.read.list_apps():
        for container in await runtime.list_containers({"rivetr.app": app.name}):
            await runtime.remove_container(container.name, force=True)
        for deployment in await services.read.list_deployments(app.name):
            if deployment.image:
                await runtime.remove_image(deployment.image)


@pytest.fixture
async def app(services: Services, tmp_path: Path) -> tuple[str, AppRepo]:
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1")
    name = f"t{uuid.uuid4().hex[:8]}"
    await services.apps.handle(
        SYSTEM, CreateApp(name=name, git_url=str(repo.path), port=8080, health=FAST_HEALTH)
    )
    return name, repo


async def deploy(services: Services, name: str, expect: str) -> str:
    deployment_id = await services.deployments.request(SYSTEM, name)
    state = await wait_for_status(services, deployment_id, {"live"})
    assert state.status == expect, await services.read.get_deployment(deployment_id)
    return deployment_id


async def live_port(services: Services, name: str) -> int:
    await services.runner.wait_until(await services.store.head())
    release = await services.read.live_release(name)
    assert release is not None
    assert release.host_port is not None
    return release.host_port


async def test_first_deploy_goes_live_with_every_step_recorded(services, app):
    name, repo = app
    v1 = await deploy(services, name, "live")
    assert await get_text(await live_port(services, name)) == "v1"
    types = await step_types(services, v1)
    assert types[:5] == [
        "deployment.requested",
        "deployment.source_fetched",
        "deployment.build_started",
        "deployment.image_built",
        "deployment.container_started",
    ]
    assert "deployment.health_probed" in types
    assert types[-2:] == ["deployment.healthy", "deployment.traffic_switched"]
    view = await services.read.get_deployment(v1)
    assert view.commit_message == "v1"
    assert view.commit_sha == repo._git("rev-parse", "HEAD")


async def test_failing_health_check_keeps_the_old_release_serving(services, app):
    name, repo = app
    await deploy(services, name, "live")
    port = await live_port(services, name)
    repo.commit("v2 never listens", dockerfile=NOT_LISTENING)

    v2 = await deploy(services, name, "failed")
    assert await get_text(port) == "v1"
    assert await live_port(services, name) == port
    view = await services.read.get_deployment(v2)
    assert view.failed_step == "health"
    probes = [
        e.event
        for e in await services.store.read_stream(f"deployment-{v2}")
        if e.type == "deployment.health_probed"
    ]
    assert probes
    assert not any(p.ok for p in probes)
    runtime = services.engine.runtime
    assert await runtime.inspect_container(f"rivetr-{name}-{v2}") is None


async def test_broken_dockerfile_keeps_the_old_release_serving(services, app):
    name, repo = app
    await deploy(services, name, "live")
    port = await live_port(services, name)
    repo.commit("v2 cannot build", dockerfile=BROKEN)

    v2 = await deploy(services, name, "failed")
    view = await services.read.get_deployment(v2)
    assert view.failed_step == "build"
    assert await get_text(port) == "v1"
    log = services.logs.read(name, v2)
    assert "about to fail" in log


async def test_good_deploy_replaces_the_old_release_which_is_then_retired(services, app):
    name, repo = app
    v1 = await deploy(services, name, "live")
    old_port = await live_port(services, name)
    repo.commit("v2")
    v2 = await deploy(services, name, "live")
    new_port = await live_port(services, name)
    assert new_port != old_port
    assert await get_text(new_port) == "v2"

    retired = await wait_for_status(services, v1, {"retired"}, timeout=20)
    assert retired.status == "retired"
    assert await services.engine.runtime.inspect_container(f"rivetr-{name}-{v1}") is None
    with pytest.raises(httpx.TransportError):
        await get_text(old_port)
    assert (await services.read.live_release(name)).deployment_id == v2


async def test_manual_rollback_redeploys_the_old_image_without_building(services, app):
    name, repo = app
    v1 = await deploy(services, name, "live")
    repo.commit("v2")
    await deploy(services, name, "live")
    assert await get_text(await live_port(services, name)) == "v2"

    back = await services.deployments.rollback(SYSTEM, name)
    state = await wait_for_status(services, back, {"live"})
    assert state.status == "live"
    assert await get_text(await live_port(services, name)) == "v1"
    types = await step_types(services, back)
    assert "deployment.build_started" not in types
    assert "deployment.source_fetched" not in types
    view = await services.read.get_deployment(back)
    assert view.rollback_of == v1
    assert view.trigger == "rollback"
