"""An app on servers, on a real swarm: the host's engine the manager, two worker engines of the
swarm lab labelled to take the copies, Debian's registry in between. Three copies are built on
the manager, pushed by digest, pulled by the workers, probed at each worker's address and
balanced by Rivetr's proxy; deploys and rollbacks under steady load lose no request; a copy
nobody can start and an unreachable registry fail the deploy with the old release serving."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import docker.errors
import httpx
import pytest

from rivetr.adapters.proxy import Balanced
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.replica_events import CopiesChanged
from rivetr.domain.scale_events import Placement
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.settings import HealthCheckInput
from rivetr.domain.swarm import ChangeNode, InitSwarm
from rivetr.domain.swarm_build import SetBuildNode
from rivetr.domain.swarm_registry import HostRegistry, SetRegistry
from rivetr.service.commands.servers import EngineCredentials, SwarmRefused
from rivetr.service.reactors.route_keeper import route_table
from tests.integration.deploy_helpers import AppRepo, step_types, wait_for_status
from tests.integration.test_deploy_pipeline import LOAD, running
from tests.net import free_port
from tests.tls import ThrowawayCA

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker, pytest.mark.swarm]

HEALTH = HealthCheckInput(path="/", interval_s=0.2, timeout_s=1, boot_deadline_s=30)
ACCOUNT = ("rivetr", "lab-registry-secret")
POOL = {"pool": "web"}  # the label the workers carry, and the copies ask for
ENGINE_CA = ThrowawayCA()  # the workers' engines answer over TLS too: one builds, in a test


@pytest.fixture(scope="module")
def lab() -> Iterator[Any]:
    """Two workers joined to a swarm the host's engine manages, and a registry on the host's
    loopback that the workers reach under the same address."""
    import docker

    from tests.swarm_lab import Lab, Registry

    client = docker.from_env()
    with Registry() as registry, Lab(client, workers=2, tls=ENGINE_CA) as started:
        started.share_loopback(registry.port)
        started.init_swarm(heartbeat=1.0)  # every worker joined; one gone is down in seconds
        started.registry = registry.address
        yield started
    client.close()


@pytest.fixture
async def services(lab: Any, tmp_path: Path) -> AsyncIterator[Services]:
    async with on_lab(lab, tmp_path) as opened:
        yield opened


@contextlib.asynccontextmanager
async def on_lab(lab: Any, tmp_path: Path, **settings: Any) -> AsyncIterator[Services]:
    """Rivetr running with the lab's swarm as its own, the workers labelled POOL; the services
    it made removed after."""
    async with running(
        tmp_path,
        "docker",
        swarm_registry=lab.registry,
        drain_s=1,
        swarm_check_interval_s=1,
        **settings,
    ) as opened:
        # the lab's swarm, adopted as Rivetr's own (as one made by hand before Rivetr would be)
        await opened.servers.init(SYSTEM, InitSwarm(advertise_addr=lab.gateway))
        await opened.swarm_keeper.look()
        for worker in lab.workers:  # a worker's node is known by its container's name
            await opened.servers.change(SYSTEM, worker, ChangeNode(labels=POOL))
        try:
            yield opened
        finally:
            swarm = opened.swarm_engine()
            for name in await swarm.services({"rivetr.managed": "true"}):
                await swarm.remove_service(name)


async def scaled_app(services: Services, tmp_path: Path) -> tuple[str, AppRepo]:
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1")
    name = f"r{uuid.uuid4().hex[:8]}"
    await services.apps.handle(
        SYSTEM,
        CreateApp(
            name=name, git_url=str(repo.path), port=8080, health=HEALTH, domains=[f"{name}.test"]
        ),
    )
    placement = Placement(constraints=POOL, spread="pool")
    await services.apps.scale(SYSTEM, ScaleApp(name=name, replicas=3, placement=placement))
    return name, repo


async def deploy(services: Services, name: str, expected: str = "live") -> str:
    deployment_id = await services.deployments.request(SYSTEM, name)
    state = await wait_for_status(services, deployment_id, {expected}, timeout=120)
    if state.status != expected:
        shown = await services.read.deployments.by_id(deployment_id)
        pytest.fail(f"{deployment_id} is {state.status}: {shown}")
    return deployment_id


async def test_three_copies_on_two_workers_are_pulled_by_digest_probed_and_balanced(
    services: Services, lab: Any, tmp_path: Path
) -> None:
    name, _ = await scaled_app(services, tmp_path)

    deployment_id = await deploy(services, name)

    steps = await step_types(services, deployment_id)
    assert steps.count("deployment.task_running") == 3
    assert "deployment.image_pushed" in steps
    release = await services.read.deployments.release((await services.lookup.by_name(name)).app_id)
    assert release is not None
    workers = {lab.address(worker) for worker in lab.workers}
    assert {m.address for m in release.members} == workers  # spread over both, none here
    [task_image] = {
        t["Spec"]["ContainerSpec"]["Image"]
        for t in lab.client.api.tasks(filters={"service": f"rivetr-{name}-{deployment_id}"})
    }
    assert task_image.startswith(f"{lab.registry}/rivetr/{name}@sha256:")
    await services.routes.refresh()
    route = (await route_table(services.read))[f"{name}.test"]
    assert isinstance(route, Balanced)
    assert len(route.members) == 3

    port = services.settings.proxy_http_port
    async with httpx.AsyncClient() as client:
        for _ in range(30):
            answer = await client.get(f"http://127.0.0.1:{port}/", headers={"Host": f"{name}.test"})
            assert (answer.status_code, answer.text) == (200, "v1")
    served = services.proxy.stats.members  # requests per member, as /metrics says
    reached = {(host, at) for (app, host, at), n in served.items() if app == name and n > 0}
    assert len(reached) == 3


async def test_a_registry_run_on_the_manager_carries_the_copies_images_to_the_workers(
    lab: Any, tmp_path: Path
) -> None:
    """No registry of the tests': the one Rivetr runs, over TLS both ways, takes the push
    from the manager and serves the workers' pulls; stopped, no node holds its certificates."""
    from tests.database_images import REGISTRY, ensure_image

    image = ensure_image(lab.client, REGISTRY)
    for worker in lab.workers:  # no hub to pull it from here
        lab.load_image(worker, image)
    async with on_lab(lab, tmp_path, hosted_registry_image=image) as services:
        shown = await services.servers.host_registry(SYSTEM, HostRegistry(port=free_port()))
        address = shown.address
        try:
            assert (shown.source, address.startswith(f"{lab.gateway}:")) == ("hosted", True)
            name, _ = await scaled_app(services, tmp_path)

            deployment_id = await deploy(services, name)

            [task_image] = {
                t["Spec"]["ContainerSpec"]["Image"]
                for t in lab.client.api.tasks(filters={"service": f"rivetr-{name}-{deployment_id}"})
            }
            assert task_image.startswith(f"{address}/rivetr/{name}@sha256:")
            await services.routes.refresh()
            port = services.settings.proxy_http_port
            async with httpx.AsyncClient() as client:
                for _ in range(6):
                    answer = await client.get(
                        f"http://127.0.0.1:{port}/", headers={"Host": f"{name}.test"}
                    )
                    assert (answer.status_code, answer.text) == (200, "v1")
        finally:
            await services.servers.stop_hosted_registry(SYSTEM)
    for worker in lab.workers:
        held = lab.exec(worker, "ls", f"/etc/docker/certs.d/{address}", check=False)
        assert held.exit_code != 0, held  # taken away as its task stopped
    assert not await anyio.Path(f"/etc/docker/certs.d/{address}").exists()


async def test_a_build_node_builds_the_copies_image_and_pushes_it_from_there(
    services: Services, lab: Any, tmp_path: Path
) -> None:
    """The first worker's engine, reached over TLS, builds the release and pushes it; the
    manager never has the image; a rollback finds it there again."""
    from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE

    builder = lab.workers[0]
    lab.load_image(builder, BUSYBOX_IMAGE)  # what the app's Dockerfile starts from
    chain, key = ENGINE_CA.issue("rivetr")
    keys = EngineCredentials(ca=ENGINE_CA.pem.decode(), cert=chain.decode(), key=key.decode())
    chosen = SetBuildNode(engine=lab.engine_url(builder))
    shown = await services.servers.set_build_node(SYSTEM, chosen, keys)
    assert shown.hostname == builder
    name, repo = await scaled_app(services, tmp_path)
    try:
        first = await deploy(services, name)
        repo.commit("v2")
        await deploy(services, name)

        built = f"rivetr/{name}:{first}"
        there = lab.exec(builder, "docker", "image", "inspect", built, check=False)
        assert there.exit_code == 0, there  # built on the build node
        with pytest.raises(docker.errors.ImageNotFound):
            lab.client.images.get(built)  # and never here
        back = await services.deployments.rollback(SYSTEM, name)
        state = await wait_for_status(services, back, {"live", "failed"}, timeout=120)
        assert state.status == "live", await services.read.deployments.by_id(back)
        await services.routes.refresh()
        port = services.settings.proxy_http_port
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{port}/", headers={"Host": f"{name}.test"})
            assert (answer.status_code, answer.text) == (200, "v1")
    finally:
        await services.servers.clear_build_node(SYSTEM)


async def test_ten_deploys_and_rollbacks_under_load_lose_no_request(
    services: Services, tmp_path: Path
) -> None:
    name, repo = await scaled_app(services, tmp_path)
    await deploy(services, name)
    await services.runner.wait_until(await services.store.head())
    await services.routes.refresh()
    stop = tmp_path / "stop"
    port = str(services.settings.proxy_http_port)
    async with await anyio.open_process(
        [sys.executable, "-c", LOAD, port, f"{name}.test", str(stop)], stderr=None
    ) as loader:
        try:
            for n in range(5):
                repo.commit(f"v{n + 2}")
                await deploy(services, name)
                back = await services.deployments.rollback(SYSTEM, name)
                state = await wait_for_status(services, back, {"live"}, timeout=120)
                assert state.status == "live"
        finally:
            stop.touch()
        assert loader.stdout is not None
        output = b"".join([chunk async for chunk in loader.stdout])
    result = json.loads(output)
    print(f"\n10 deploys and rollbacks of 3 copies: {result['ok']} requests served")
    assert result["failures"] == 0, result["failed"]
    assert result["ok"] > 100


async def test_a_live_release_whose_service_was_removed_serves_again_after_a_restart(
    lab: Any, tmp_path: Path
) -> None:
    """The service removed while Rivetr was stopped (here by the end of `on_lab`, as `docker
    service rm` would): at its next start its image is deployed again and served."""
    async with on_lab(lab, tmp_path) as services:
        name, _ = await scaled_app(services, tmp_path)
        lost = await deploy(services, name)
        app_id = (await services.lookup.by_name(name)).app_id
    assert f"rivetr-{name}-{lost}" not in services_in(lab)

    settings = {"swarm_registry": lab.registry, "drain_s": 1, "swarm_check_interval_s": 1}
    async with running(tmp_path, "docker", **settings) as services:
        try:
            with anyio.fail_after(120):
                while True:
                    release = await services.read.deployments.release(app_id)
                    if release is not None and release.deployment_id != lost:
                        break
                    await anyio.sleep(0.2)
            again = await services.read.deployments.by_id(release.deployment_id)
            assert again is not None
            assert again.trigger == "rebuild"
            await services.routes.refresh()
            async with httpx.AsyncClient() as client:
                port = services.settings.proxy_http_port
                url = f"http://127.0.0.1:{port}/"
                answer = await client.get(url, headers={"Host": f"{name}.test"})
            assert answer.text == "v1"
            assert f"rivetr-{name}-{release.deployment_id}" in services_in(lab)
        finally:
            swarm = services.swarm_engine()
            for service in await swarm.services({"rivetr.managed": "true"}):
                await swarm.remove_service(service)


def services_in(lab: Any) -> set[str]:
    """The names of the services the lab's swarm runs."""
    return {s["Spec"]["Name"] for s in lab.client.api.services()}


async def test_copies_no_worker_can_start_fail_the_deploy_and_the_old_ones_serve(
    services: Services, tmp_path: Path
) -> None:
    name, repo = await scaled_app(services, tmp_path)
    live = await deploy(services, name)
    repo.commit("v2", dockerfile='FROM rivetr/busybox:latest\nCMD ["false"]\n')

    failed = await deploy(services, name, "failed")

    shown = await services.read.deployments.by_id(failed)
    assert shown is not None
    assert shown.failed_step in ("start", "health"), shown
    app_id = (await services.lookup.by_name(name)).app_id
    release = await services.read.deployments.release(app_id)
    assert release is not None
    assert release.deployment_id == live
    swarm = services.swarm_engine()
    assert f"rivetr-{name}-{failed}" not in await swarm.services({"rivetr.managed": "true"})
    await services.routes.refresh()
    async with httpx.AsyncClient() as client:
        port = services.settings.proxy_http_port
        answer = await client.get(f"http://127.0.0.1:{port}/", headers={"Host": f"{name}.test"})
    assert answer.text == "v1"


async def test_a_registry_with_an_account_is_pushed_to_and_pulled_from_as_it(
    services: Services, lab: Any, tmp_path: Path
) -> None:
    """A registry that refuses anyone (Debian's, with basic auth): the account set through
    Rivetr is tried by the engine first, pushed with, and handed to the workers with the
    service; they have no login of their own, yet run the copies."""
    from tests.swarm_lab import Registry

    user, password = ACCOUNT
    with Registry(auth=ACCOUNT) as private:
        lab.share_loopback(private.port)
        wrong = SetRegistry(address=private.address, username=user, password="not it")
        with pytest.raises(SwarmRefused, match=r"not taken by .*401 Unauthorized"):
            await services.servers.set_registry(SYSTEM, wrong)
        right = SetRegistry(address=private.address, username=user, password=password)
        await services.servers.set_registry(SYSTEM, right)
        try:
            name, _ = await scaled_app(services, tmp_path)

            deployment_id = await deploy(services, name)

            service = f"rivetr-{name}-{deployment_id}"
            tasks = lab.client.api.tasks(filters={"service": service, "desired-state": "running"})
            [image] = {t["Spec"]["ContainerSpec"]["Image"] for t in tasks}
            assert image.startswith(f"{private.address}/rivetr/{name}@sha256:")
            manager = lab.client.info()["Swarm"]["NodeID"]
            assert manager not in {t["NodeID"] for t in tasks}  # every copy pulled on a worker
            # the release's tag: a pull asks the registry (a digest pulled already would not)
            tagged = f"{private.address}/rivetr/{name}:{deployment_id}"
            refused = lab.exec(lab.workers[0], "docker", "pull", tagged, check=False)
            assert "no basic auth credentials" in refused.stderr  # no login of its own
        finally:
            await services.servers.clear_registry(SYSTEM)
            for name in await services.swarm_engine().services({"rivetr.managed": "true"}):
                await services.swarm_engine().remove_service(name)  # its registry is going


async def test_a_killed_worker_is_taken_out_and_its_copies_come_back_on_the_other(
    services: Services, lab: Any, tmp_path: Path
) -> None:
    """Last in the module: it kills a worker (and starts it again for whatever runs after)."""
    name, _ = await scaled_app(services, tmp_path)
    live = await deploy(services, name)
    await services.routes.refresh()
    killed, kept = lab.workers
    stop = tmp_path / "stop"
    port = str(services.settings.proxy_http_port)
    async with await anyio.open_process(
        [sys.executable, "-c", LOAD, port, f"{name}.test", str(stop)], stderr=None
    ) as loader:
        try:
            await anyio.sleep(1)  # load before the kill
            killed_at = time.monotonic()
            await anyio.to_thread.run_sync(lab.kill, killed)
            changes = await copies_moved_off(services, live, killed)
            settled_s = time.monotonic() - killed_at
            await anyio.sleep(2)  # and load after the copies moved
        finally:
            stop.touch()
        assert loader.stdout is not None
        output = b"".join([chunk async for chunk in loader.stdout])
    result = json.loads(output)
    print(
        f"\nworker {killed} killed: its copies out of the balance and replaced in"
        f" {settled_s:.1f} s; {result['failures']} of {result['ok'] + result['failures']}"
        f" requests failed meanwhile: {result['failed'][:5]}"
    )
    reasons = [left.reason for change in changes for left in change.left]
    assert reasons, "no copy was taken out"
    release = await services.read.deployments.release((await services.lookup.by_name(name)).app_id)
    assert release is not None
    assert len(release.members) == 3
    assert {m.node for m in release.members} == {kept}
    async with httpx.AsyncClient() as client:  # nothing is sent to the dead worker now
        for _ in range(30):
            answer = await client.get(
                f"http://127.0.0.1:{port}/", headers={"Host": f"{name}.test"}, timeout=5
            )
            assert answer.status_code == 200
    await anyio.to_thread.run_sync(lab.restart, killed)


async def copies_moved_off(
    services: Services, deployment_id: str, worker: str, timeout: float = 60
) -> list[CopiesChanged]:
    """The copies changes recorded until no copy of the release is on `worker` and all of
    them run again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = await services.store.read_stream(f"deployment-{deployment_id}")
        changes = [r.event for r in history if isinstance(r.event, CopiesChanged)]
        if changes:
            now = changes[-1].members
            if len(now) == 3 and all(m.node != worker for m in now):
                return changes
        await anyio.sleep(0.5)
    pytest.fail(f"the copies of {deployment_id} did not leave {worker} in {timeout:.0f} s")
