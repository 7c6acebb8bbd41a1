"""Kamal's standard on the real engine: a broken deploy keeps the old release serving; a good
one replaces it and the old container is drained and retired; a rollback redeploys an old image
without building."""

from __future__ import annotations

import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from rivetr.adapters.runtime.baseimage import ensure_busybox_image
from rivetr.adapters.runtime.detect import Engine
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import ChangeAppSettings, CreateApp, DeleteApp
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.settings import HealthCheckInput, ResourcesInput
from rivetr.service.reactors.pipeline import container_name
from rivetr.service.reactors.pruning import prune_images
from rivetr.service.reactors.reconciler import restart_dead_releases
from tests.engine import connect_real_engine
from tests.integration.deploy_helpers import (
    ALWAYS_UP,
    BROKEN,
    NOT_LISTENING,
    SLOW_BUILD,
    UP_ONCE,
    WITH_CGI_CHECK,
    AppRepo,
    get_text,
    private_https_repo,
    step_types,
    wait_for_status,
)
from tests.net import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

FAST_HEALTH = HealthCheckInput(path="/", interval_s=0.2, timeout_s=1, boot_deadline_s=4)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with running(tmp_path) as opened:
        yield opened


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, engine: Engine = "auto", **settings: Any
) -> AsyncIterator[Services]:
    """The whole service on the real `engine`, its background work running, the busybox base
    image there; the apps' containers and images removed on the way out."""
    runtime = await connect_real_engine(engine)
    await ensure_busybox_image(runtime)
    await runtime.close()
    opened = await Services.open(
        Settings(
            **{
                "data_dir": str(tmp_path / "data"),
                "engine": engine,
                "drain_s": 1,
                "poll_interval_s": 0.2,
                "proxy_host": "127.0.0.1",
                "proxy_http_port": free_port(),
                "proxy_https_port": free_port(),
                "acme_auto": False,
                "git_local_dirs": [str(tmp_path)],  # the repositories these tests make
                "git_allow_private": True,  # and serve over https on loopback
                **settings,
            }
        )
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
    for app in await services.read.apps.every():
        for container in await runtime.list_containers({"rivetr.app": app.id}):
            await runtime.remove_container(container.name, force=True)
        for deployment in await services.read.deployments.of_app(app.id):
            if deployment.image:
                await runtime.remove_image(deployment.image)


@pytest.fixture
async def app(services: Services, tmp_path: Path) -> tuple[str, AppRepo]:
    return await _create_app(services, tmp_path, FAST_HEALTH)


async def _create_app(
    services: Services, tmp_path: Path, health: HealthCheckInput, **v1: object
) -> tuple[str, AppRepo]:
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1", **v1)  # type: ignore[arg-type]
    name = f"t{uuid.uuid4().hex[:8]}"
    await services.apps.handle(
        SYSTEM, CreateApp(name=name, git_url=str(repo.path), port=8080, health=health)
    )
    return name, repo


async def deploy(services: Services, name: str, expect: str) -> str:
    deployment_id = await services.deployments.request(SYSTEM, name)
    state = await wait_for_status(services, deployment_id, {expect})
    assert state.status == expect, await services.read.deployments.by_id(deployment_id)
    return deployment_id


async def app_id(services: Services, name: str) -> str:
    return (await services.lookup.by_name(name)).app_id


async def live_port(services: Services, name: str) -> int:
    await services.runner.wait_until(await services.store.head())
    release = await services.read.deployments.release(await app_id(services, name))
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
    view = await services.read.deployments.by_id(v1)
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
    view = await services.read.deployments.by_id(v2)
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
    view = await services.read.deployments.by_id(v2)
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
    # its output (httpd -v logs each request: the probes, ours) outlives the container
    assert "app| " in services.logs.read(name, v1)
    assert await services.engine.runtime.inspect_container(f"rivetr-{name}-{v1}") is None
    with pytest.raises(httpx.TransportError):
        await get_text(old_port)
    assert (
        await services.read.deployments.release(await app_id(services, name))
    ).deployment_id == v2


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
    view = await services.read.deployments.by_id(back)
    assert view.rollback_of == v1
    assert view.trigger == "rollback"


async def test_a_release_failing_right_after_the_switch_is_rolled_back_automatically(
    services, tmp_path
):
    health = msgspec.structs.replace(FAST_HEALTH, path="/cgi-bin/up")
    name, repo = await _create_app(
        services, tmp_path, health, dockerfile=WITH_CGI_CHECK, files={"up": ALWAYS_UP}
    )
    v1 = await deploy(services, name, "live")
    port = await live_port(services, name)
    repo.commit("v2", dockerfile=WITH_CGI_CHECK, files={"up": UP_ONCE})

    v2 = await deploy(services, name, "rolled_back")

    types = await step_types(services, v2)
    assert types[-4:] == [
        "deployment.healthy",
        "deployment.traffic_switched",
        "deployment.rollback_started",
        "deployment.rolled_back",
    ]
    assert (
        await services.read.deployments.release(await app_id(services, name))
    ).deployment_id == v1
    assert await live_port(services, name) == port
    assert await get_text(port) == "v1"
    assert await services.engine.runtime.inspect_container(container_name(name, v2)) is None
    assert (await services.recorder.state(v1)).status == "live"  # never superseded
    assert "app| health check 2" in services.logs.read(name, v2)  # kept after its removal


@pytest.mark.parametrize("death", ["removed", "stopped"])
async def test_a_live_release_whose_container_died_is_started_again(services, app, death):
    name, _ = app
    v1 = await deploy(services, name, "live")
    old_port = await live_port(services, name)
    runtime = services.engine.runtime
    if death == "removed":
        await runtime.remove_container(container_name(name, v1), force=True)
    else:  # a stopped container is not restarted by the engine's unless-stopped policy
        await runtime.stop_container(container_name(name, v1), timeout_s=1)

    assert await restart_dead_releases(
        services.read, services.recorder, runtime, services.secrets, services.prober
    ) == [v1]

    last = (await services.store.read_stream(f"deployment-{v1}"))[-1]
    assert last.type == "deployment.restarted"
    restarted = last.event
    assert restarted.healthy
    assert restarted.reason == (
        "its container was gone" if death == "removed" else "its container was exited"
    )
    new_port = await live_port(services, name)
    assert new_port == restarted.host_port
    assert await get_text(new_port) == "v1"
    assert (await services.recorder.state(v1)).status == "live"
    if death == "removed":
        assert new_port != old_port
    # nothing left to restart: a second pass does nothing
    assert (
        await restart_dead_releases(
            services.read, services.recorder, runtime, services.secrets, services.prober
        )
        == []
    )


async def test_a_dead_release_whose_image_is_gone_is_recorded_as_failed_to_restart(services, app):
    name, _ = app
    v1 = await deploy(services, name, "live")
    runtime = services.engine.runtime
    await runtime.remove_container(container_name(name, v1), force=True)
    view = await services.read.deployments.by_id(v1)
    await runtime.remove_image(view.image)

    assert await restart_dead_releases(
        services.read, services.recorder, runtime, services.secrets, services.prober
    ) == [v1]

    last = (await services.store.read_stream(f"deployment-{v1}"))[-1]
    assert last.type == "deployment.restart_failed"
    assert "its container was gone; starting it again failed" in last.event.reason
    assert "not found" in last.event.reason


async def test_images_beyond_the_kept_releases_are_pruned_and_only_rivetrs(services, app, tmp_path):
    name, repo = app
    runtime = services.engine.runtime
    v1 = await deploy(services, name, "live")
    repo.commit("v2")
    v2 = await deploy(services, name, "live")
    repo.commit("v3")
    v3 = await deploy(services, name, "live")
    for old in (v1, v2):
        assert (await wait_for_status(services, old, {"retired"}, timeout=20)).status == "retired"
    images = {d: f"rivetr/{name}:{d}" for d in (v1, v2, v3)}  # the tags the builds made
    # an image that names the app but that Rivetr did not build must survive
    foreign = f"rivetr-test/{name}-foreign:latest"
    context = tmp_path / "foreign"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM rivetr/busybox:latest\n")
    await runtime.build_image(context, foreign, labels={"rivetr.app": await app_id(services, name)})

    try:
        state = await services.lookup.by_name(name)
        removed = await prune_images(services.read, runtime, services.store, state, keep=1)

        assert sorted(removed) == sorted([images[v1], images[v2]])
        assert not await runtime.image_exists(images[v1])
        assert not await runtime.image_exists(images[v2])
        assert await runtime.image_exists(images[v3])
        assert await runtime.image_exists(foreign)
        pruned = [
            (e.event.image, e.event.deployment_id)
            for e in await services.store.read_stream("engine")
            if e.type == "engine.image_pruned"
        ]
        assert sorted(pruned) == sorted([(images[v1], v1), (images[v2], v2)])
        assert await get_text(await live_port(services, name)) == "v3"
    finally:
        await runtime.remove_image(foreign)


async def test_a_deployment_cancelled_mid_build_stops_and_leaves_the_old_release_serving(
    services, app
):
    name, repo = app
    await deploy(services, name, "live")
    port = await live_port(services, name)
    repo.commit("v2 builds for ten minutes", dockerfile=SLOW_BUILD)
    v2 = await services.deployments.request(SYSTEM, name)
    await wait_for_status(services, v2, {"building"})

    with anyio.fail_after(20):  # not the ten minutes of the build
        await services.deployments.cancel(SYSTEM, v2)
        state = await wait_for_status(services, v2, {"cancelled"})

    assert state.status == "cancelled"
    assert await get_text(port) == "v1"
    assert await services.engine.runtime.inspect_container(container_name(name, v2)) is None
    assert not await services.engine.runtime.image_exists(f"rivetr/{name}:{v2}")


async def test_a_live_release_cannot_be_cancelled(services, app):
    name, _ = app
    v1 = await deploy(services, name, "live")

    with pytest.raises(InvalidCommand, match="roll back"):
        await services.deployments.cancel(SYSTEM, v1)


async def test_a_private_repository_deploys_with_the_apps_token_which_stays_secret(
    services, tmp_path, monkeypatch
):
    monkeypatch.setenv("GIT_SSL_NO_VERIFY", "1")  # the test server's certificate is self-signed
    repo = AppRepo(tmp_path / "repo")
    repo.commit("private v1")
    token = "ghp_" + uuid.uuid4().hex
    name = f"p{uuid.uuid4().hex[:8]}"
    with private_https_repo(repo, tmp_path / "served", token) as url:
        await services.apps.handle(
            SYSTEM, CreateApp(name=name, git_url=url, port=8080, health=FAST_HEALTH)
        )
        refused = await deploy(services, name, "failed")
        assert "access denied" in (await services.read.deployments.by_id(refused)).failure_reason
        await services.apps.handle(SYSTEM, ChangeAppSettings(name=name, git_token=token))

        v1 = await deploy(services, name, "live")

    assert await get_text(await live_port(services, name)) == "private v1"
    assert (await services.read.apps.named(name)).git_auth == ["token"]
    assert token not in services.logs.read(name, v1)
    steps = await services.read.deployments.steps(v1)
    assert token not in str([step.detail for step in steps])


async def test_the_release_container_runs_with_the_apps_resource_limits(services, app):
    name, _ = app
    await services.apps.handle(
        SYSTEM,
        ChangeAppSettings(name=name, resources=ResourcesInput(memory_mb=96, cpus=0.25)),
    )
    v1 = await deploy(services, name, "live")

    inspected = await anyio.run_process(
        [
            "/usr/bin/docker",
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.Init}}",
            container_name(name, v1),
        ]
    )
    limits = inspected.stdout.decode().split()
    assert limits == [str(96 * 1024 * 1024), "250000000", "true"]


async def test_sealed_env_values_reach_the_container_in_plain_text(services, tmp_path):
    name, repo = await _create_app(services, tmp_path, FAST_HEALTH)
    repo.commit(
        "greets",
        dockerfile=(
            "FROM rivetr/busybox:latest\n"
            'CMD ["sh", "-c", "mkdir -p /www && echo \\"$GREETING\\" > /www/index.html'
            ' && exec httpd -f -p 8080 -h /www"]\n'
        ),
    )
    await services.apps.handle(
        SYSTEM, ChangeAppSettings(name=name, env={"GREETING": "hello, sealed world"})
    )
    assert (await services.lookup.by_name(name)).env["GREETING"].startswith("rvs2:")

    await deploy(services, name, "live")

    assert await get_text(await live_port(services, name)) == "hello, sealed world\n"


async def test_deleting_an_app_retires_its_live_release_and_removes_the_container_and_images(
    services, app
):
    name, repo = app
    v1 = await deploy(services, name, "live")
    repo.commit("v2")
    v2 = await deploy(services, name, "live")
    port = await live_port(services, name)
    runtime = services.engine.runtime
    images = [f"rivetr/{name}:{v1}", f"rivetr/{name}:{v2}"]  # the tags the builds made
    assert [await runtime.image_exists(image) for image in images] == [True, True]
    before = await services.store.head()

    await services.apps.handle(SYSTEM, DeleteApp(name=name))

    retired = await wait_for_status(services, v2, {"retired"}, timeout=30)
    assert retired.status == "retired"
    last = (await services.store.read_stream(f"deployment-{v2}"))[-1].event
    assert (last.container_removed, last.reason) == (True, "its application was deleted")
    assert await runtime.inspect_container(f"rivetr-{name}-{v2}") is None
    with pytest.raises(httpx.TransportError):
        await get_text(port)
    pruned = []
    with anyio.fail_after(30):
        async for recorded in services.store.subscribe(before):
            if recorded.type == "engine.image_pruned":
                pruned.append(recorded.event.image)
                if len(pruned) == len(images):
                    break
    assert sorted(pruned) == sorted(images)
    assert [await runtime.image_exists(image) for image in images] == [False, False]


# A second process: GETs through the proxy, one after another over keep-alive connections,
# until the stop file appears; prints how many succeeded and what failed.
LOAD = """
import json, os, sys, time, http.client
port, host, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ok, failed = 0, []
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
while not os.path.exists(stop):
    try:
        conn.request("GET", "/", headers={"Host": host})
        response = conn.getresponse()
        body = response.read()
        if response.status == 200 and body.startswith(b"v"):
            ok += 1
        else:
            failed.append(f"{response.status} {body[:80]!r}")
    except Exception as exc:
        failed.append(repr(exc))
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
print(json.dumps({"ok": ok, "failed": failed[:20], "failures": len(failed)}))
"""


async def test_deploying_and_rolling_back_20_times_under_load_loses_no_request(
    services, app, tmp_path
):
    name, repo = app
    domain = f"{name}.test"
    await services.apps.handle(SYSTEM, ChangeAppSettings(name=name, domains=[domain]))
    await deploy(services, name, "live")
    await services.runner.wait_until(await services.store.head())
    await services.routes.refresh()
    stop = tmp_path / "stop"
    port = str(services.settings.proxy_http_port)
    async with await anyio.open_process(
        [sys.executable, "-c", LOAD, port, domain, str(stop)], stderr=None
    ) as loader:
        try:
            for n in range(10):
                repo.commit(f"v{n + 2}")
                await deploy(services, name, "live")
                back = await services.deployments.rollback(SYSTEM, name)
                state = await wait_for_status(services, back, {"live"})
                assert state.status == "live"
        finally:
            stop.touch()
        assert loader.stdout is not None
        output = b"".join([chunk async for chunk in loader.stdout])
    result = json.loads(output)
    assert result["failures"] == 0, result["failed"]
    assert result["ok"] > 100


async def test_the_live_containers_cpu_and_memory_are_sampled_into_a_bounded_ring(services, app):
    name, _ = app
    await deploy(services, name, "live")
    sampler = services.resources
    sampler.keep = 3
    for _ in range(5):  # the first reading only starts the rate
        await sampler.sample()
        await anyio.sleep(0.05)

    key = await app_id(services, name)
    samples = sampler.of(key)
    assert len(samples) == 3  # the ring keeps the newest `keep`
    release = await services.read.deployments.release(key)
    assert {s.deployment_id for s in samples} == {release.deployment_id}
    assert all(0 < s.memory_mb < 256 for s in samples)
    assert all(s.cpu_percent >= 0 for s in samples)
    reading = sampler.latest()[key]  # what /metrics reports of it
    assert (reading.app, reading.container) == (name, release.container_name)
    assert reading.cpu_ns > 0
    assert 0 < reading.memory_bytes < 256 * 2**20
    scraped = await services.metrics.render()
    assert f'rivetr_container_memory_bytes{{app="{name}",app_id="{key}"}} ' in scraped

    await services.apps.handle(SYSTEM, DeleteApp(name=name))
    await services.runner.wait_until(await services.store.head())
    await sampler.sample()
    assert sampler.of(key) == []  # nothing live: the chart goes
    assert key not in sampler.latest()
