"""Every transition of a deployment, decided by the pipeline, the deployer and the reconciler
on in-memory twins of every port: live, superseded and retired; failed at each step; cancelled
or superseded at each step; rolled back after the switch; and recovered after a crash at each
step by a new service on the same log."""

from __future__ import annotations

import pytest

from rivetr.adapters.runtime.base import DEPLOYMENT_LABEL, MANAGED_LABEL, ContainerSpec
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import DeleteApp
from rivetr.domain.events import (
    DeploymentCancelled,
    DeploymentFailed,
    OrphanContainerRemoved,
    ReleaseRestarted,
    RolledBack,
)
from tests.unit.service.reactors.house import (
    DRAIN_S,
    House,
    create_app,
    settled,
    types,
    until,
)

pytestmark = pytest.mark.anyio

REQUESTED_TO_LIVE = [
    "deployment.requested",
    "deployment.source_fetched",
    "deployment.build_started",
    "deployment.image_built",
    "deployment.container_started",
    "deployment.health_probed",
    "deployment.healthy",
    "deployment.traffic_switched",
]


async def deploy(house: House, services, expect: str = "live") -> str:  # type: ignore[no-untyped-def]
    deployment_id = await services.deployments.request(SYSTEM, "web")
    state = await until(services, deployment_id, {expect, "failed", "rolled_back", "cancelled"})
    assert state.status == expect, await services.read.deployments.by_id(deployment_id)
    return deployment_id


def containers(house: House) -> set[str]:
    return {c.spec.name for c in house.runtime._containers.values() if c.state == "running"}


async def test_a_deployment_goes_live_through_every_step(house: House) -> None:
    sha = house.commit("v1")
    async with house.running() as services:
        await create_app(services)

        live = await deploy(house, services)

        assert await types(services, live) == REQUESTED_TO_LIVE
        state = await services.recorder.state(live)
        assert state.commit_sha == sha
        assert containers(house) == {f"rivetr-web-{live}"}
        release = await services.read.deployments.release(state.app_id)
        assert release is not None
        assert release.deployment_id == live
        assert house.builder.built == [f"rivetr/web:{live}"]


async def test_a_new_release_supersedes_the_live_one_which_is_drained_then_retired(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.commit("v2")

        v2 = await deploy(house, services)

        old = await until(services, v1, {"retired"})
        assert old.status == "retired"
        assert DRAIN_S in house.clock.slept
        assert containers(house) == {f"rivetr-web-{v2}"}
        assert (await services.recorder.state(v2)).status == "live"


@pytest.mark.parametrize("step", ["source", "build", "start", "health"])
async def test_a_failure_at_a_step_fails_the_deployment_and_the_old_release_serves_on(
    house: House, step: str
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.commit("v2")
        if step == "source":
            house.source.fail_next("branch 'main' not found in the repository")
        elif step == "build":
            house.builder.fail_next("returned a non-zero code: 3", ["about to fail"])
        elif step == "start":
            house.runtime.fail_next_start("port is already allocated")
        else:
            house.prober.otherwise(503)

        v2 = await deploy(house, services, expect="failed")

        failed = await services.read.deployments.by_id(v2)
        assert failed is not None
        assert (failed.failed_step, failed.status) == (step, "failed")
        assert containers(house) == {f"rivetr-web-{v1}"}
        assert (await services.recorder.state(v1)).status == "live"
        last = (await services.store.read_stream(f"deployment-{v2}"))[-1].event
        assert isinstance(last, DeploymentFailed)
        if step == "build":
            assert "about to fail" in last.log_tail
        if step == "health":
            assert failed.failure_reason == (
                "the health check GET / on port 8080 answered 503 Service Unavailable"
                " (expected 200) until its 5 s deadline"
            )


async def test_a_release_whose_container_vanished_fails_for_its_own_reason(house: House) -> None:
    """Removed behind Rivetr's back while it was being checked (another process, a person), the
    container's output cannot be read: the failure says what the check saw, not the engine's
    "no such container" from reading that output."""
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        house.gates.hold("health")
        v1 = await services.deployments.request(SYSTEM, "web")
        await house.gates.wait_reached("health")
        await house.runtime.remove_container(f"rivetr-web-{v1}", force=True)
        house.gates.release("health")

        failed = await until(services, v1, {"failed"})
        view = await services.read.deployments.by_id(v1)
        assert failed.status == "failed"
        assert view is not None
        assert view.failed_step == "health"
        assert "no such container" not in (view.failure_reason or "").lower()
        assert "logs of" not in (view.failure_reason or "")


@pytest.mark.parametrize("step", ["source", "build", "start", "health"])
async def test_a_cancel_at_a_step_stops_there_and_removes_what_it_started(
    house: House, step: str
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.gates.hold(step)
        v2 = await services.deployments.request(SYSTEM, "web")
        await house.gates.wait_reached(step)

        await services.deployments.cancel(SYSTEM, v2)

        assert (await until(services, v2, {"cancelled"})).status == "cancelled"
        await settled(lambda: containers(house) == {f"rivetr-web-{v1}"})
        assert (await services.recorder.state(v1)).status == "live"


async def test_a_newer_request_supersedes_the_one_in_flight(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.gates.hold("build")
        v2 = await services.deployments.request(SYSTEM, "web")
        await house.gates.wait_reached("build")

        v3 = await services.deployments.request(SYSTEM, "web")  # while v2 is held mid-build
        assert (await until(services, v2, {"cancelled"})).status == "cancelled"
        house.gates.release("build")  # only now: v2 must not finish first
        assert (await until(services, v3, {"live", "failed", "rolled_back"})).status == "live"

        cancelled = (await services.store.read_stream(f"deployment-{v2}"))[-1].event
        assert isinstance(cancelled, DeploymentCancelled)
        assert cancelled.superseded_by == v3
        assert (await until(services, v1, {"retired"})).status == "retired"
        await settled(lambda: containers(house) == {f"rivetr-web-{v3}"})


async def test_a_request_arriving_as_the_one_in_flight_goes_live_lets_it_finish(
    house: House,
) -> None:
    """Traffic already goes to v2 (held in its check right after the switch) when v3 is
    asked for: v2 is not cancelled (its container would go with traffic on it), it supersedes
    v1, and v3 starts after it and supersedes it in turn."""
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.commit("v2")
        house.gates.hold("switch")
        v2 = await services.deployments.request(SYSTEM, "web")
        await house.gates.wait_reached("switch")
        assert (await services.recorder.state(v2)).status == "live"

        v3 = await services.deployments.request(SYSTEM, "web")
        await settled(lambda: v3 in {d for d, _ in services.deployer._running.values()})
        assert f"rivetr-web-{v2}" in containers(house)
        house.gates.release("switch")

        assert (await until(services, v3, {"live", "failed", "rolled_back"})).status == "live"
        assert "deployment.cancelled" not in await types(services, v2)
        assert (await until(services, v1, {"retired"})).status == "retired"
        assert (await until(services, v2, {"retired"})).status == "retired"
        await settled(lambda: containers(house) == {f"rivetr-web-{v3}"})


async def test_a_rebuild_asked_while_a_deployment_is_under_way_leaves_it_alone(
    house: House,
) -> None:
    """The reconciler's rebuild of a dead release can come just after a user's deploy (the
    service had only started): the user's deploy goes on, the rebuild is cancelled."""
    sha = house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.gates.hold("build")
        v2 = await services.deployments.request(SYSTEM, "web")
        await house.gates.wait_reached("build")

        again = await services.deployments.request(SYSTEM, "web", commit=sha, trigger="rebuild")
        assert (await until(services, again, {"cancelled"})).status == "cancelled"
        house.gates.release("build")
        assert (await until(services, v2, {"live", "failed", "rolled_back"})).status == "live"

        cancelled = (await services.store.read_stream(f"deployment-{again}"))[-1].event
        assert isinstance(cancelled, DeploymentCancelled)
        assert cancelled.reason == f"deployment {v2} is under way and replaces the release"
        assert (await until(services, v1, {"retired"})).status == "retired"


async def test_a_failure_right_after_the_switch_rolls_back_to_the_previous_release(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.prober.otherwise(200, 500)  # healthy at boot, failing once live

        v2 = await deploy(house, services, expect="rolled_back")

        assert (await types(services, v2))[-3:] == [
            "deployment.traffic_switched",
            "deployment.rollback_started",
            "deployment.rolled_back",
        ]
        rolled = (await services.store.read_stream(f"deployment-{v2}"))[-1].event
        assert isinstance(rolled, RolledBack)
        assert rolled.to_deployment_id == v1
        assert (await services.recorder.state(v1)).status == "live"
        release = await services.read.deployments.release(
            (await services.recorder.state(v1)).app_id
        )
        assert release is not None
        assert release.deployment_id == v1
        assert containers(house) == {f"rivetr-web-{v1}"}


async def test_a_failure_after_the_first_switch_rolls_back_to_nothing(house: House) -> None:
    house.commit("v1")
    house.prober.otherwise(200, 500)
    async with house.running() as services:
        await create_app(services)

        v1 = await deploy(house, services, expect="rolled_back")

        rolled = (await services.store.read_stream(f"deployment-{v1}"))[-1].event
        assert isinstance(rolled, RolledBack)
        assert rolled.to_deployment_id is None
        assert containers(house) == set()


async def crash_at(house: House, step: str) -> tuple[str, str]:
    """Deploy v1, then v2 up to `step`, and stop the service there as a kill would: the engine
    unreachable meanwhile, so nothing is cleaned up on the way out. Returns (v1, v2)."""
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.commit("v2")
        house.gates.hold(step)
        v2 = await services.deployments.request(SYSTEM, "web")
        await house.gates.wait_reached(step)
        house.runtime.available = False
    house.runtime.available = True
    house.gates = type(house.gates)()  # the new service is held nowhere
    house.source.gates = house.builder.gates = house.runtime.gates = house.gates
    house.prober.gates = house.clock.gates = house.gates
    return v1, v2


@pytest.mark.parametrize("step", ["source", "build", "start", "health"])
async def test_after_a_crash_at_a_step_the_deployment_is_failed_and_its_container_removed(
    house: House, step: str
) -> None:
    v1, v2 = await crash_at(house, step)

    async with house.running() as services:
        state = await until(services, v2, {"failed"})
        assert state.status == "failed"
        view = await services.read.deployments.by_id(v2)
        assert view is not None
        assert (view.failure_reason or "").startswith("interrupted: Rivetr stopped while")
        await settled(lambda: containers(house) == {f"rivetr-web-{v1}"})
        assert (await services.recorder.state(v1)).status == "live"
        orphans = [e.event for e in await services.store.read_stream("engine")]
        removed = [e for e in orphans if isinstance(e, OrphanContainerRemoved)]
        assert [e.deployment_id for e in removed] == ([v2] if step == "health" else [])


async def test_another_instances_containers_on_the_same_engine_are_left_alone(
    house: House,
) -> None:
    """A second Rivetr (another data directory) labels its containers as Rivetr's too; they
    belong to deployments this log has never heard of, and the reconciler keeps its hands off."""
    v1, _ = await crash_at(house, "health")
    image = next(c.spec.image for c in house.runtime._containers.values())
    foreign = ContainerSpec(
        name="rivetr-web-elsewhere",
        image=image,
        labels={MANAGED_LABEL: "true", DEPLOYMENT_LABEL: "a-deployment-of-another-log"},
    )
    await house.runtime.run_container(foreign)

    async with house.running() as services:
        await settled(lambda: containers(house) == {f"rivetr-web-{v1}", "rivetr-web-elsewhere"})
        orphans = [e.event for e in await services.store.read_stream("engine")]
        removed = [e.container_name for e in orphans if isinstance(e, OrphanContainerRemoved)]
        assert "rivetr-web-elsewhere" not in removed


async def test_after_a_crash_at_the_switch_the_older_release_is_superseded_and_retired(
    house: House,
) -> None:
    v1, v2 = await crash_at(house, "switch")

    async with house.running() as services:
        assert (await until(services, v1, {"retired"})).status == "retired"
        assert (await services.recorder.state(v2)).status == "live"
        await settled(lambda: containers(house) == {f"rivetr-web-{v2}"})


async def test_after_a_crash_during_the_drain_the_superseded_release_is_retired(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.gates.hold("drain")
        house.commit("v2")
        v2 = await deploy(house, services)
        await house.gates.wait_reached("drain")
        assert (await services.recorder.state(v1)).status == "superseded"

    async with house.running() as services:
        assert (await until(services, v1, {"retired"})).status == "retired"
        await settled(lambda: containers(house) == {f"rivetr-web-{v2}"})


async def test_a_live_release_whose_container_died_is_started_again(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
    await house.runtime.remove_container(f"rivetr-web-{v1}", force=True)

    async with house.running() as services:
        await settled(lambda: containers(house) == {f"rivetr-web-{v1}"})
        await settled(lambda: house.store._events[-1].type == "deployment.restarted")
        restarted = (await services.store.read_stream(f"deployment-{v1}"))[-1].event
        assert isinstance(restarted, ReleaseRestarted)
        assert restarted.healthy
        assert restarted.reason == "its container was gone"


async def test_a_live_release_whose_image_is_gone_too_is_built_again_from_its_commit(
    house: House,
) -> None:
    """As after a restore onto a new machine: the log says v1 is live, the engine has neither
    its container nor its image. A new deployment of v1's commit goes live in its place."""
    sha = house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        image = (await services.read.deployments.by_id(v1)).image  # type: ignore[union-attr]
    await house.runtime.remove_container(f"rivetr-web-{v1}", force=True)
    for tag in [tag for tag, held in house.runtime.images.items() if held == image]:
        await house.runtime.remove_image(tag)
    house.commit("v2, pushed since: not what was live")

    async with house.running() as services:
        await settled(
            lambda: any(e.type == "deployment.restart_failed" for e in house.store._events)
        )
        note = (await services.store.read_stream(f"deployment-{v1}"))[-1].event
        again = note.reason.rsplit(" ", 1)[-1]
        assert note.reason == (
            f"its container was gone and its image {image} is not on this host; building it"
            f" again from {sha[:12]} as deployment {again}"
        )
        state = await until(services, again, {"live", "failed"})
        assert state.status == "live"
        rebuilt = await services.read.deployments.by_id(again)
        assert (rebuilt.trigger, rebuilt.commit_sha) == ("rebuild", sha)  # type: ignore[union-attr]
        await settled(lambda: containers(house) == {f"rivetr-web-{again}"})


async def test_a_deployment_started_while_the_engine_is_swept_keeps_its_container(
    house: House,
) -> None:
    """At start the reconciler sweeps orphan containers while the first deploys run: one that
    starts its container between the sweep's reads is no orphan (CI caught a live release's
    container removed so)."""
    from rivetr.service.reactors.reconciler import reconcile_engine

    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        started: list[str] = []

        class DeployDuringListing:
            """The engine, as a deploy that reaches its health check mid-sweep leaves it."""

            def __getattr__(self, name: str) -> object:
                return getattr(house.runtime, name)

            async def list_containers(self, labels: dict[str, str]) -> object:
                house.gates.hold("health")
                started.append(await services.deployments.request(SYSTEM, "web"))
                await house.gates.wait_reached("health")
                await services.runner.wait_until(await services.store.head())
                return await house.runtime.list_containers(labels)

        removed = await reconcile_engine(
            services.read,
            services.recorder,
            DeployDuringListing(),
            services.deployer,  # type: ignore[arg-type]
        )
        house.gates.release("health")
        assert removed == []
        state = await until(services, started[0], {"live"})

    assert state.status == "live"


async def test_the_next_deployment_does_not_wait_for_the_last_ones_image_pruning(
    house: House, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pruning asks the engine for every image of the app (slow where it holds hundreds): it
    runs beside the app's next deployment, which waits for the one before it to finish."""
    import anyio

    engine_answers = anyio.Event()
    list_images = house.runtime.list_images

    async def slow_list_images(labels):  # type: ignore[no-untyped-def]
        await engine_answers.wait()
        return await list_images(labels)

    monkeypatch.setattr(house.runtime, "list_images", slow_list_images)
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)  # its pruning now waits on the engine
        house.commit("v2")

        with anyio.fail_after(10):
            v2 = await deploy(house, services)

        engine_answers.set()
        assert (await until(services, v1, {"retired"})).status == "retired"
        await settled(lambda: containers(house) == {f"rivetr-web-{v2}"})


async def test_a_deleted_app_leaves_no_container_and_none_of_its_images(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        v1 = await deploy(house, services)
        house.commit("v2")
        v2 = await deploy(house, services)
        app_id = (await services.lookup.by_name("web")).app_id
        built = {f"rivetr/web:{v1}", f"rivetr/web:{v2}"}
        assert built <= set(house.runtime.images)  # the older one kept for a rollback

        await services.apps.handle(SYSTEM, DeleteApp(name="web"))

        assert (await until(services, v2, {"retired"})).status == "retired"
        await settled(lambda: not built & set(house.runtime.images))
        assert containers(house) == set()
        pruned = [
            (e.event.image, e.event.deployment_id, e.resource, e.team)
            for e in await services.store.read_stream("engine")
            if e.type == "engine.image_pruned"
        ]
        assert sorted(pruned) == sorted(
            [(f"rivetr/web:{d}", d, app_id, "default") for d in (v1, v2)]
        )
