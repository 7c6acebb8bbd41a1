"""Deploying an app on servers, on the twins: its image pushed by digest, one swarm service
per release beside the old one's, every copy probed where it runs, traffic balanced over the
copies only once all pass; each fault a failed deployment naming its cause, the old release
still serving and the new service gone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from rivetr.adapters.health.fake import REFUSED
from rivetr.adapters.proxy import Balanced, Upstream
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.adapters.swarm.base import RegistryLogin
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.scale_events import Placement
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.swarm import InitSwarm
from rivetr.domain.swarm_build import SetBuildNode
from rivetr.domain.swarm_registry import HostRegistry, SetRegistry
from rivetr.service.commands.server_views import BuildNodeView, RegistryView
from rivetr.service.commands.servers import EngineCredentials, SwarmRefused
from rivetr.service.reactors.route_keeper import route_table
from tests.unit.service.reactors.house import House, create_app, settled, types, until

pytestmark = pytest.mark.anyio

REGISTRY = "registry.example.com:5000"
PRIVATE = "private.example.com"  # a registry that takes one account only
FIRST_PORT = 30000  # where the twin publishes the first task's port


@pytest.fixture
def registered(tmp_path: Path) -> House:
    """A house whose Rivetr pushes the images of apps on servers to REGISTRY."""
    return House(tmp_path / "data", registry=REGISTRY)


@contextlib.asynccontextmanager
async def on_servers(house: House, **placement: object) -> AsyncIterator[Services]:
    """The service running with servers (`servers`), web scaled to 3 copies, a commit to
    deploy."""
    async with house.running() as services:
        await servers(house, services)
        await scaled_app(services, **placement)
        house.commit("v1")
        yield services


async def servers(house: House, services: Services, **labels: str) -> None:
    """This engine a manager (10.0.0.1), vps-2 and vps-3 joined, each labelled `labels`."""
    await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
    house.swarm.join("vps-2", "10.0.0.2", labels=labels)
    house.swarm.join("vps-3", "10.0.0.3", labels=labels)
    await services.swarm_keeper.look()


async def scaled_app(services: Services, replicas: int = 3, **placement: object) -> None:
    await create_app(services)
    await services.apps.handle(SYSTEM, _domains())
    placed = Placement(**placement)  # type: ignore[arg-type]
    scale = ScaleApp(name="web", replicas=replicas, placement=placed, balance="least_connections")
    await services.apps.scale(SYSTEM, scale)


def _domains() -> object:
    from rivetr.domain.commands import ChangeAppSettings

    return ChangeAppSettings(name="web", domains=["web.example.com"])


async def deploy(services: Services) -> str:
    return await services.deployments.request(SYSTEM, "web")


async def deploy_failing(services: Services) -> tuple[str | None, str]:
    """Deploy web, which must fail: the step it failed at and why."""
    state = await until(services, await deploy(services), {"live", "failed"})
    view = await services.read.deployments.by_id(state.deployment_id)
    assert view is not None
    assert view.status == "failed", view
    return view.failed_step, view.failure_reason or ""


async def test_copies_run_on_the_servers_and_traffic_is_balanced_once_all_pass(
    registered: House,
) -> None:
    house = registered
    async with on_servers(house) as services:
        state = await until(services, await deploy(services), {"live", "failed"})

        assert state.status == "live", await services.read.deployments.by_id(state.deployment_id)
        steps = await types(services, state.deployment_id)
        assert steps[steps.index("deployment.image_built") :] == [
            "deployment.image_built",
            "deployment.image_pushed",
            "deployment.service_started",
            "deployment.task_running",
            "deployment.task_running",
            "deployment.task_running",
            "deployment.health_probed",
            "deployment.health_probed",
            "deployment.health_probed",
            "deployment.healthy",
            "deployment.traffic_balanced",
        ]
        [(name, spec)] = house.swarm.specs.items()
        assert name == f"rivetr-web-{state.deployment_id}"
        assert spec.replicas == 3
        assert spec.image.startswith(f"{REGISTRY}/rivetr/web@sha256:")
        assert list(house.swarm.pushed) == [f"{REGISTRY}/rivetr/web:{state.deployment_id}"]
        assert spec.labels["rivetr.deployment"] == state.deployment_id

        release = await services.read.deployments.release(state.app_id)
        assert release is not None
        placed = sorted((m.node, m.address) for m in release.members)
        assert len(placed) == 3
        assert {address for _, address in placed} <= {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
        [on_vps2] = await services.servers.copies_on(SYSTEM, "vps-2")  # one copy a server
        assert (on_vps2.app, on_vps2.address) == ("web", "10.0.0.2")
        route = (await route_table(services.read))["web.example.com"]
        assert isinstance(route, Balanced)
        assert route.strategy == "least_connections"
        assert sorted(route.members, key=lambda m: m.port) == [
            Upstream("web", m.address, m.port, state.deployment_id)
            for m in sorted(release.members, key=lambda m: m.port)
        ]


async def test_a_new_release_runs_beside_the_old_and_the_old_service_goes_once_drained(
    registered: House,
) -> None:
    house = registered
    async with house.running() as services:
        await servers(house, services)
        await scaled_app(services, replicas=2)
        house.commit("v1")
        first = await until(services, await deploy(services), {"live", "failed"})
        house.commit("v2")

        second = await until(services, await deploy(services), {"live", "failed"})

        assert second.status == "live"
        assert (await services.recorder.state(first.deployment_id)).status in (
            "superseded",
            "retired",
        )
        await settled(lambda: list(house.swarm.specs) == [f"rivetr-web-{second.deployment_id}"])
        retired = await until(services, first.deployment_id, {"retired"})
        assert retired.service_name == f"rivetr-web-{first.deployment_id}"


async def test_several_servers_without_a_registry_are_refused_at_push(house: House) -> None:
    async with on_servers(house) as services:
        step, reason = await deploy_failing(services)

        assert step == "push"
        assert reason == (
            "the app runs on servers and vps-2, vps-3 cannot pull an image built here: set a"
            " registry every server reaches (`rivetr servers registry ADDRESS`, or the"
            " swarm_registry setting)"
        )
        assert house.swarm.specs == {}


async def test_a_registry_set_with_an_account_is_pushed_to_and_pulled_from_as_it(
    house: House,
) -> None:
    """The account is tried before it is kept, sealed in the log, used for the push and
    handed to the servers with the service; forgotten, the servers have no registry again."""
    house.swarm.accounts[PRIVATE] = ("deploy", "s3cret")
    async with on_servers(house) as services:
        wrong = SetRegistry(address=PRIVATE, username="deploy", password="wrong")
        with pytest.raises(SwarmRefused, match="401 Unauthorized"):
            await services.servers.set_registry(SYSTEM, wrong)
        right = SetRegistry(address=PRIVATE, username="deploy", password="s3cret")
        shown = await services.servers.set_registry(SYSTEM, right)
        assert shown == RegistryView(address=PRIVATE, username="deploy")

        state = await until(services, await deploy(services), {"live", "failed"})

        assert state.status == "live", await services.read.deployments.by_id(state.deployment_id)
        [spec] = house.swarm.specs.values()
        assert spec.image.startswith(f"{PRIVATE}/rivetr/web@sha256:")
        assert spec.registry_auth == RegistryLogin(
            address=PRIVATE, username="deploy", password="s3cret"
        )
        log = await services.store.read_all()
        assert [e.type for e in log].count("swarm.registry_set") == 1  # the wrong one: not kept
        assert "s3cret" not in str([e.event for e in log])

        await services.servers.clear_registry(SYSTEM)
        house.commit("v2")
        step, reason = await deploy_failing(services)
        assert (step, "cannot pull an image built here" in reason) == ("push", True)


async def test_a_registry_run_on_the_manager_is_pushed_to_and_pulled_from_without_an_account(
    house: House,
) -> None:
    """Its keys sealed in the log; no other registry while it runs; stopped, the servers have
    none again."""
    async with on_servers(house) as services:
        shown = await services.servers.host_registry(SYSTEM, HostRegistry(port=5000))

        assert shown == RegistryView(address="10.0.0.1:5000", source="hosted")
        hosted = house.swarm.hosted
        assert hosted is not None
        assert house.swarm.info is not None
        assert (hosted.node_id, hosted.image) == (house.swarm.info.node_id, "registry:2")
        state = await until(services, await deploy(services), {"live", "failed"})
        assert state.status == "live", await services.read.deployments.by_id(state.deployment_id)
        [spec] = house.swarm.specs.values()
        assert spec.image.startswith("10.0.0.1:5000/rivetr/web@sha256:")
        assert spec.registry_auth is None  # no account: the engines present their certificate
        log = [str(e.event) for e in await services.store.read_all()]
        assert hosted.certificates.key not in str(log)
        assert hosted.certificates.client_key not in str(log)

        with pytest.raises(InvalidCommand, match="stop it first"):
            await services.servers.set_registry(SYSTEM, SetRegistry(address=PRIVATE))
        with pytest.raises(InvalidCommand, match="stop it first"):
            await services.servers.clear_registry(SYSTEM)
        with pytest.raises(AlreadyExists, match=r"at 10\.0\.0\.1:5000"):
            await services.servers.host_registry(SYSTEM, HostRegistry(port=5001))

        await services.servers.stop_hosted_registry(SYSTEM)

        assert house.swarm.hosted is None
        assert (await services.servers.swarm(SYSTEM)).registry is None
        with pytest.raises(NotFound, match="runs no registry"):
            await services.servers.stop_hosted_registry(SYSTEM)
        house.commit("v2")
        step, reason = await deploy_failing(services)
        assert (step, "cannot pull an image built here" in reason) == ("push", True)


async def test_a_registry_that_does_not_come_up_is_refused_recorded_and_stopped(
    house: House,
) -> None:
    house.swarm.unpullable.add("registry:2")
    async with on_servers(house) as services:
        with pytest.raises(SwarmRefused, match="No such image: registry:2"):
            await services.servers.host_registry(SYSTEM, HostRegistry())

        assert house.swarm.hosted is None
        assert (await services.servers.swarm(SYSTEM)).registry is None
        [failed] = [
            e.event for e in await services.store.read_all() if e.type == "swarm.operation_failed"
        ]
        assert failed.operation == "registry"  # type: ignore[attr-defined]
        assert "the registry at 10.0.0.1:5000" in failed.reason  # type: ignore[attr-defined]


async def test_a_registry_run_on_the_manager_whose_service_went_is_started_again(
    house: House,
) -> None:
    async with on_servers(house) as services:
        await services.servers.host_registry(SYSTEM, HostRegistry(port=5000))
    first = house.swarm.hosted
    assert first is not None
    await house.swarm.stop_registry()  # removed by hand while Rivetr was stopped

    async with house.running():
        await settled(lambda: house.swarm.hosted is not None)

    assert house.swarm.hosted == first  # the certificates every node already trusts


BUILD_NODE = "tcp://10.0.0.4:2376"
BUILD_KEYS = EngineCredentials(
    ca="-----BEGIN CERTIFICATE-----ca",
    cert="-----BEGIN CERTIFICATE-----client",
    key="-----BEGIN PRIVATE KEY-----build-node-secret",
)


async def build_node_runtime() -> FakeRuntime:
    """The build node's engine, with the base image the app's Dockerfile starts from."""
    runtime = FakeRuntime()
    await runtime.import_image(b"a root fs", BUSYBOX_IMAGE, cmd=["/bin/sh"])
    return runtime


async def test_a_build_node_builds_the_image_and_pushes_it_for_the_servers(
    registered: House,
) -> None:
    """Built on vps-4's engine, pushed from there, pulled by the servers by digest; nothing
    built here, the key sealed; cleared, the manager builds again."""
    house = registered
    build_runtime = await build_node_runtime()
    house.swarm.remotes[BUILD_NODE] = "vps-4"
    house.swarm.build_runtimes[BUILD_NODE] = build_runtime
    async with on_servers(house) as services:
        chosen = SetBuildNode(engine=BUILD_NODE)
        with pytest.raises(InvalidCommand, match="not a node of this swarm"):
            await services.servers.set_build_node(SYSTEM, chosen, BUILD_KEYS)
        house.swarm.join("vps-4", "10.0.0.4")
        await services.swarm_keeper.look()
        shown = await services.servers.set_build_node(SYSTEM, chosen, BUILD_KEYS)
        assert shown == BuildNodeView(engine=BUILD_NODE, hostname="vps-4")
        assert (await services.servers.swarm(SYSTEM)).build_node == shown

        state = await until(services, await deploy(services), {"live", "failed"})

        assert state.status == "live", await services.read.deployments.by_id(state.deployment_id)
        [(pushed, built)] = house.swarm.pushed.items()
        assert pushed == f"{REGISTRY}/rivetr/web:{state.deployment_id}"
        assert await build_runtime.image_exists(built)
        assert not await house.runtime.image_exists(built)
        log = str([e.event for e in await services.store.read_all()])
        assert "build-node-secret" not in log

        await services.servers.clear_build_node(SYSTEM)
        house.commit("v2")
        again = await until(services, await deploy(services), {"live", "failed"})
        assert again.status == "live"
        pushed_here = house.swarm.pushed[f"{REGISTRY}/rivetr/web:{again.deployment_id}"]
        assert await house.runtime.image_exists(pushed_here)


async def test_a_rollback_to_a_release_built_here_before_a_build_node_is_pushed_from_here(
    registered: House,
) -> None:
    house = registered
    build_runtime = await build_node_runtime()
    house.swarm.remotes[BUILD_NODE] = "vps-4"
    house.swarm.build_runtimes[BUILD_NODE] = build_runtime
    async with on_servers(house) as services:
        house.swarm.join("vps-4", "10.0.0.4")
        await services.swarm_keeper.look()
        await until(services, await deploy(services), {"live"})
        await services.servers.set_build_node(SYSTEM, SetBuildNode(engine=BUILD_NODE), BUILD_KEYS)
        house.commit("v2")
        await until(services, await deploy(services), {"live"})

        back = await services.deployments.rollback(SYSTEM, "web")
        state = await until(services, back, {"live", "failed"})

        view = await services.read.deployments.by_id(back)
        assert view is not None
        assert state.status == "live", view.failure_reason
        image = house.swarm.pushed[f"{REGISTRY}/rivetr/web:{back}"]
        assert await house.runtime.image_exists(image)
        assert not await build_runtime.image_exists(image)


async def test_a_build_node_that_does_not_answer_fails_the_deploy_the_old_release_serving(
    registered: House,
) -> None:
    house = registered
    house.swarm.remotes[BUILD_NODE] = "vps-4"
    house.swarm.build_runtimes[BUILD_NODE] = await build_node_runtime()
    async with on_servers(house) as services:
        house.swarm.join("vps-4", "10.0.0.4")
        await services.swarm_keeper.look()
        live = await until(services, await deploy(services), {"live"})
        await services.servers.set_build_node(SYSTEM, SetBuildNode(engine=BUILD_NODE), BUILD_KEYS)
        del house.swarm.remotes[BUILD_NODE]  # its engine stops answering
        house.commit("v2")

        step, reason = await deploy_failing(services)

        assert step == "engine"
        assert reason.startswith("the build node cannot be reached: ")
        assert "connection refused" in reason
        release = await services.read.deployments.release(live.app_id)
        assert release is not None
        assert release.deployment_id == live.deployment_id


async def test_an_image_built_on_a_build_node_needs_a_registry(house: House) -> None:
    house.swarm.remotes[BUILD_NODE] = "vps-4"
    house.swarm.build_runtimes[BUILD_NODE] = await build_node_runtime()
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        house.swarm.join("vps-4", "10.0.0.4")
        await services.swarm_keeper.look()
        await scaled_app(services, replicas=2)
        house.commit("v1")
        await services.servers.set_build_node(SYSTEM, SetBuildNode(engine=BUILD_NODE), BUILD_KEYS)

        step, reason = await deploy_failing(services)

        assert step == "push"
        assert "built on the build node at tcp://10.0.0.4:2376, which no server pulls" in reason


async def test_a_registry_set_without_the_account_it_wants_fails_the_push(house: House) -> None:
    house.swarm.accounts[PRIVATE] = ("deploy", "s3cret")
    async with on_servers(house) as services:
        await services.servers.set_registry(SYSTEM, SetRegistry(address=PRIVATE))

        step, reason = await deploy_failing(services)

        assert step == "push"
        assert "no basic auth credentials" in reason


async def test_a_registry_that_refuses_fails_the_push_in_its_words(registered: House) -> None:
    house = registered
    house.swarm.registry_refusal = "unauthorized: authentication required"
    async with on_servers(house) as services:
        step, reason = await deploy_failing(services)

        assert step == "push"
        assert "the registry refused the image" in reason
        assert "unauthorized: authentication required" in reason


async def test_an_image_no_server_can_pull_fails_the_start_and_its_service_goes(
    registered: House,
) -> None:
    house = registered
    async with on_servers(house) as services:
        live = await until(services, await deploy(services), {"live"})
        house.commit("v2")
        house.swarm.unpullable.add("*")  # every image pushed from now on

        step, reason = await deploy_failing(services)

        assert step == "start"
        assert "rejected: No such image" in reason
        assert list(house.swarm.specs) == [f"rivetr-web-{live.deployment_id}"]  # the old serves
        release = await services.read.deployments.release(live.app_id)
        assert release is not None
        assert release.deployment_id == live.deployment_id


async def test_a_placement_no_server_takes_fails_the_start_naming_it(house: House) -> None:
    async with house.running() as services:
        await servers(house, services, zone="eu")
        await scaled_app(services, replicas=1, constraints={"zone": "eu"})
        house.swarm.node_list = {
            node_id: node
            for node_id, node in house.swarm.node_list.items()
            if node.role == "manager"  # the labelled servers are gone since the scale
        }
        house.commit("v1")

        step, reason = await deploy_failing(services)

        assert step == "start"
        assert "copy 1 has no server to run on (zone=eu): no suitable node" in reason
        assert house.swarm.specs == {}


async def test_a_copy_that_fails_its_check_fails_the_release_naming_where_it_runs(
    registered: House,
) -> None:
    house = registered
    house.prober.answer(FIRST_PORT + 1, REFUSED)  # the second copy's port
    async with on_servers(house) as services:
        step, reason = await deploy_failing(services)

        assert step == "health"
        assert f":{FIRST_PORT + 1}): " in reason
        assert "connection refused" in reason
        assert house.swarm.specs == {}
        assert (
            await services.read.deployments.release((await services.lookup.by_name("web")).app_id)
            is None
        )


async def test_the_service_of_a_deploy_a_crash_interrupted_goes_at_the_next_start(
    registered: House,
) -> None:
    house = registered
    house.gates.hold("health")
    async with on_servers(house) as services:
        deployment_id = await deploy(services)
        await house.gates.wait_reached("health")
        [left] = house.swarm.specs.values()
    # a crash removes nothing: the service is still in the swarm when Rivetr starts again
    house.swarm.specs.clear()
    await house.swarm.create_service(left)
    house.gates.release("health")

    async with house.running() as services:
        await settled(lambda: house.swarm.specs == {})
        state = await until(services, deployment_id, {"failed"})
        assert state.status == "failed"
        swarm_stream = [r.type for r in await house.store.read_stream("swarm")]
        assert swarm_stream[-1] == "swarm.orphan_removed"


async def test_a_live_release_whose_service_is_gone_is_deployed_again_at_the_next_start(
    registered: House,
) -> None:
    """Someone removed the service by hand (or the swarm was made anew) while Rivetr was
    stopped: at its start the release's image is deployed again, not built."""
    house = registered
    async with on_servers(house) as services:
        lost = await until(services, await deploy(services), {"live"})
    house.swarm.specs.clear()
    house.swarm.task_list.clear()

    async with house.running() as services:
        release_of = services.read.deployments.release

        async def replaced() -> bool:
            release = await release_of(lost.app_id or "")
            return release is not None and release.deployment_id != lost.deployment_id

        with anyio.fail_after(5):
            while not await replaced():  # noqa: ASYNC110
                await anyio.sleep(0.01)
        release = await release_of(lost.app_id or "")
        assert release is not None
        again = await services.read.deployments.by_id(release.deployment_id)
        assert again is not None
        assert (again.trigger, again.image) == ("rebuild", lost.image)
        assert len(house.builder.built) == 1  # deployed from its image, not built again
        assert list(house.swarm.specs) == [f"rivetr-web-{release.deployment_id}"]
        assert (await until(services, lost.deployment_id, {"retired"})).status == "retired"
        [note] = [
            r.event
            for r in await services.store.read_stream(f"deployment-{lost.deployment_id}")
            if r.type == "deployment.restart_failed"
        ]
        assert note.reason == (  # type: ignore[attr-defined]
            f"its swarm service rivetr-web-{lost.deployment_id} was gone; deploying its image"
            f" {lost.image} as {release.deployment_id}"
        )


async def live_on_workers(house: House, services: Services) -> tuple[str, str]:
    """web live as 3 copies on vps-2 and vps-3 (zone eu); its app id and deployment id. The
    test looks with the copy watch itself: the keeper's own looks (every few seconds) would
    race it."""
    services.swarm_keeper.then = None
    await servers(house, services, zone="eu")
    await scaled_app(services, constraints={"zone": "eu"})
    house.commit("v1")
    state = await until(services, await deploy(services), {"live"})
    return state.app_id or "", state.deployment_id


async def test_copies_of_a_server_gone_down_are_replaced_by_those_the_engine_started(
    registered: House,
) -> None:
    house = registered
    async with house.running() as services:
        app_id, deployment_id = await live_on_workers(house, services)
        before = await services.read.deployments.release(app_id)
        assert before is not None
        on_vps2 = [m for m in before.members if m.node == "vps-2"]
        assert on_vps2
        vps2 = next(n for n in house.swarm.node_list.values() if n.hostname == "vps-2")

        house.swarm.set_state(vps2.node_id, "down")  # the engine moves its tasks to vps-3
        [change] = await services.copy_watch.look()

        assert [left.member for left in change.left] == on_vps2
        assert all(left.reason.startswith("shutdown on vps-2") for left in change.left)
        assert {m.node for m in change.joined} == {"vps-3"}
        assert len(change.members) == 3
        await services.runner.wait_until(await services.store.head())
        after = await services.read.deployments.release(app_id)
        assert after is not None
        assert {m.node for m in after.members} == {"vps-3"}
        route = (await route_table(services.read))["web.example.com"]
        assert isinstance(route, Balanced)
        assert {(m.host, m.port) for m in route.members} == {
            (m.address, m.port) for m in after.members
        }
        assert await services.copy_watch.look() == []  # nothing more to say
        assert (await services.recorder.state(deployment_id)).status == "live"


async def test_a_copy_failing_its_check_twice_is_taken_out_and_put_back_once_it_answers(
    registered: House,
) -> None:
    house = registered
    async with house.running() as services:
        app_id, _ = await live_on_workers(house, services)
        release = await services.read.deployments.release(app_id)
        assert release is not None
        sick = release.members[0]
        house.prober.answer(sick.port, REFUSED)

        assert await services.copy_watch.look() == []  # one lost probe is noise
        [out] = await services.copy_watch.look()
        assert [(c.member, c.reason) for c in out.left] == [
            (sick, "failed its check: connection refused")
        ]
        assert sick not in out.members
        assert len(out.members) == 2

        house.prober.answer(sick.port, 200)
        [back] = await services.copy_watch.look()
        assert back.joined == [sick]
        assert sorted(back.members, key=lambda m: m.port) == sorted(
            release.members, key=lambda m: m.port
        )
