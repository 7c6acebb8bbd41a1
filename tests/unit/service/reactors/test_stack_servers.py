"""A stack's services on servers, on the twins: a service asking for copies (`deploy.replicas`,
`mode: global`, a placement) runs as a swarm service beside the previous release's, its image
pushed by digest, every copy gated, its route balanced over the copies at the switch; the rest
stay containers on the manager. Each fault a failed release naming its cause, the new services
gone and the old release still serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import msgspec
import pytest

from rivetr.adapters.proxy import Balanced
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.errors import NotFound
from rivetr.domain.stack_commands import ChangeStackSettings, DeleteStack
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.service.reactors.route_keeper import route_table
from tests.unit.service.reactors.house import House
from tests.unit.service.reactors.test_replica_release import REGISTRY, servers
from tests.unit.service.reactors.test_stack_deployer import deployed, make

pytestmark = pytest.mark.anyio

DB = f"""
  db:
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    volumes: ["data:/var/lib/data"]
"""


def compose(deploy: str = "{replicas: 3}", image: str = BUSYBOX_IMAGE, extra: str = "") -> str:
    web = f"""
  web:
    image: {image}
    command: ["httpd", "-f"]
    deploy: {deploy}
    healthcheck: {{test: ["CMD-SHELL", "true"], interval: 1s, retries: 3}}
{extra}"""
    return "services:" + DB + web + "volumes:\n  data: {}\n"


@pytest.fixture
def registered(tmp_path: Path) -> House:
    return House(tmp_path / "data", registry=REGISTRY)


@asynccontextmanager
async def with_servers(house: House) -> AsyncIterator[Services]:
    house.runtime.on_exec("sh", lambda call: FakeExecAnswer(exit_code=0))
    async with house.running() as services:
        await servers(house, services)
        yield services


async def live(services: Services, text: str) -> tuple[str, StackReleaseState]:
    stack_id = await make(services, text)
    release = await deployed(services, stack_id, {"live", "failed"})
    assert release.status == "live", release.failure
    return stack_id, release


async def test_a_service_asking_for_copies_runs_on_servers_balanced_by_the_proxy(
    registered: House,
) -> None:
    async with with_servers(registered) as services:
        stack_id, release = await live(services, compose())
        web, db = release.services["web"], release.services["db"]
        assert (web.on_servers, web.mode, db.on_servers) == (True, "beside", False)
        spec = registered.swarm.specs[web.container or ""]
        assert spec.replicas == 3
        assert spec.ports == [80]
        assert spec.image.startswith(f"{REGISTRY}/rivetr/blog-web@sha256:")
        assert spec.healthcheck is not None
        assert spec.command == ["httpd", "-f"]
        assert spec.networks == [
            f"rivetr-stack-{stack_id}-ov",
            "rivetr_default_default_production-ov",
        ]
        assert "web" in spec.aliases
        table = await route_table(services.read)
        route = table["blog.example.com"]
        assert isinstance(route, Balanced)
        tasks = await registered.swarm.tasks(spec.name)
        assert {(m.host, m.port) for m in route.members} == {
            (t.address, t.published_ports[80]) for t in tasks
        }
        assert len(web.members[80]) == 3
        # the database stays a container here, on the overlay the copies reach it by
        container = await registered.runtime.inspect_container(db.container or "")
        assert container is not None
        assert container.state == "running"
        steps = [s.line for s in await services.read.stacks.steps_of(release.release_id, "web")]
        assert any(line.startswith("on servers (beside): 3 copies as") for line in steps)


async def test_a_redeploy_keeps_an_unchanged_service_and_drains_a_changed_one(
    registered: House,
) -> None:
    await registered.runtime.import_image(b"another fs", "web:2", cmd=["/bin/sh"])
    async with with_servers(registered) as services:
        stack_id, first = await live(services, compose())
        same = await deployed(services, stack_id, {"live", "failed"})
        assert same.status == "live", same.failure
        assert same.services["web"].mode == "keep"
        assert same.services["web"].container == first.services["web"].container
        change = ChangeStackSettings(stack_id=stack_id, compose=compose(image="web:2"))
        await services.stacks.change(SYSTEM, change)
        third = await deployed(services, stack_id, {"live", "failed"})
        assert third.status == "live", third.failure
        assert third.services["web"].mode == "beside"
        old = first.services["web"].container
        with anyio.fail_after(5):
            while old in registered.swarm.specs:  # noqa: ASYNC110
                await anyio.sleep(0.001)
        assert third.services["web"].container in registered.swarm.specs


async def test_a_copy_no_server_can_start_fails_the_release_and_the_old_one_serves(
    registered: House,
) -> None:
    await registered.runtime.import_image(b"another fs", "web:2", cmd=["/bin/sh"])
    async with with_servers(registered) as services:
        stack_id, first = await live(services, compose())
        before = await route_table(services.read)
        registered.swarm.unpullable.add("*")
        await services.stacks.change(
            SYSTEM, ChangeStackSettings(stack_id=stack_id, compose=compose(image="web:2"))
        )
        failed = await deployed(services, stack_id, {"live", "failed"})
        assert failed.status == "failed"
        assert failed.failed_service == "web"
        assert failed.failure is not None
        assert "rejected: No such image" in failed.failure
        assert set(registered.swarm.specs) == {first.services["web"].container}
        assert await route_table(services.read) == before


async def test_a_placement_no_server_satisfies_is_refused_in_the_engines_words(
    registered: House,
) -> None:
    async with with_servers(registered) as services:
        placed = "{replicas: 2, placement: {constraints: [node.labels.zone==mars]}}"
        stack_id = await make(services, compose(placed))
        release = await deployed(services, stack_id, {"live", "failed"})
        assert release.status == "failed"
        assert release.failure is not None
        assert "no server to run on" in release.failure
        assert "node.labels.zone==mars" in release.failure
        assert registered.swarm.specs == {}


async def test_a_global_service_runs_one_copy_on_every_server(registered: House) -> None:
    async with with_servers(registered) as services:
        stack_id = await make(services, compose("{mode: global}"))
        release = await deployed(services, stack_id, {"live", "failed"})
        assert release.status == "live", release.failure
        web = release.services["web"]
        nodes = {t.node_id for t in await registered.swarm.tasks(web.container or "")}
        assert len(nodes) == 3
        assert len(web.members[80]) == 3
        steps = [s.line for s in await services.read.stacks.steps_of(release.release_id, "web")]
        assert any("one copy on each server" in line for line in steps)


async def test_a_service_mounting_this_machines_files_is_pinned_here(registered: House) -> None:
    async with with_servers(registered) as services:
        extra = "    volumes: ['data:/srv/data:ro']\n"
        stack_id = await make(services, compose(extra=extra))
        release = await deployed(services, stack_id, {"live", "failed"})
        assert release.status == "live", release.failure
        spec = registered.swarm.specs[release.services["web"].container or ""]
        manager = (await registered.swarm.swarm()).node_id  # type: ignore[union-attr]
        assert f"node.id=={manager}" in spec.constraints
        assert {t.address for t in await registered.swarm.tasks(spec.name)} == {"10.0.0.1"}


async def test_without_a_registry_other_servers_cannot_pull_what_was_built_here(
    tmp_path: Path,
) -> None:
    house = House(tmp_path / "data")
    async with with_servers(house) as services:
        stack_id = await make(services, compose())
        release = await deployed(services, stack_id, {"live", "failed"})
        assert (release.status, release.failed_service) == ("failed", "web")
        assert release.failure is not None
        assert "vps-2, vps-3 cannot pull" in release.failure
        assert house.swarm.specs == {}
        assert await house.runtime.list_containers({"rivetr.stack": stack_id}) == []


async def test_a_stack_deleted_keeps_no_service_on_the_servers(registered: House) -> None:
    async with with_servers(registered) as services:
        stack_id, _ = await live(services, compose())
        await services.stacks.delete(SYSTEM, DeleteStack(stack_id=stack_id))
        with anyio.fail_after(5):
            while registered.swarm.specs:  # noqa: ASYNC110
                await anyio.sleep(0.001)


async def test_without_servers_copies_are_refused_saying_what_would_run_them(
    registered: House,
) -> None:
    registered.runtime.on_exec("sh", lambda call: FakeExecAnswer(exit_code=0))
    async with registered.running() as services:
        stack_id = await make(services, compose())
        release: StackReleaseState = await deployed(services, stack_id, {"live", "failed"})
        assert release.status == "failed"
        assert release.failure is not None
        assert "rivetr servers init" in release.failure


async def test_a_server_going_down_moves_the_route_to_the_copies_the_engine_started_since(
    registered: House,
) -> None:
    async with with_servers(registered) as services:
        _, release = await live(services, compose())
        assert await services.stack_copy_watch.look() == []  # nothing changed
        [vps2] = [n for n in await registered.swarm.nodes() if n.hostname == "vps-2"]
        registered.swarm.set_state(vps2.node_id, "down")  # the engine moves its tasks away
        [change] = await services.stack_copy_watch.look()
        assert "a copy on vps-2 left: shutdown on vps-2" in change.changed
        assert "joined at" in change.changed
        await services.runner.wait_until(await services.store.head())
        route = (await route_table(services.read))["blog.example.com"]
        assert isinstance(route, Balanced)
        assert len(route.members) == 3
        assert "10.0.0.2" not in {m.host for m in route.members}
        steps = await services.read.stacks.steps_of(release.release_id, "web")
        assert steps[-1].line == change.changed
        assert await services.stack_copy_watch.look() == []


async def test_a_global_service_no_server_may_run_fails_the_release(registered: House) -> None:
    async with with_servers(registered) as services:
        placed = "{mode: global, placement: {constraints: [node.labels.zone==mars]}}"
        stack_id = await make(services, compose(placed))
        release = await deployed(services, stack_id, {"live", "failed"})
        assert release.status == "failed"
        assert release.failure == "no server may run a copy (node.labels.zone==mars)"


async def test_a_kept_service_is_not_failed_for_copies_that_ended_before(
    registered: House,
) -> None:
    async with with_servers(registered) as services:
        stack_id, first = await live(services, compose())
        service = first.services["web"].container or ""
        [task, *_] = registered.swarm.task_list[service]
        ended = msgspec.structs.replace(task, task_id="old", desired="shutdown", state="failed")
        registered.swarm.task_list[service].append(ended)  # the engine's history of the slot
        again = await deployed(services, stack_id, {"live", "failed"})
        assert again.status == "live", again.failure
        assert again.services["web"].mode == "keep"


async def test_a_registry_refusing_the_push_fails_the_release_before_anything_starts(
    registered: House,
) -> None:
    async with with_servers(registered) as services:
        registered.swarm.registry_refusal = "denied: requested access to the resource is denied"
        stack_id = await make(services, compose())
        release = await deployed(services, stack_id, {"live", "failed"})
        assert (release.status, release.failed_service) == ("failed", "web")
        assert release.failure == (
            f"the registry refused the image of web: push {REGISTRY}/rivetr/blog-web:"
            f"{release.release_id}: denied: requested access to the resource is denied"
        )
        view = await services.read.stacks.release(release.release_id)
        assert view is not None
        assert view.failed_step == "image"
        assert registered.swarm.specs == {}
        assert await registered.runtime.list_containers({"rivetr.stack": stack_id}) == []


async def test_a_service_on_servers_logs_are_its_copies_wherever_they_run(
    registered: House,
) -> None:
    async with with_servers(registered) as services:
        stack_id, release = await live(services, compose())
        service = release.services["web"].container or ""
        registered.swarm.said[service] = "copy 1 listening\ncopy 2 listening\n"
        logs = await services.stack_reads.logs(SYSTEM, stack_id, "web", tail=1)
        assert (logs.container, logs.output) == (service, "copy 2 listening\n")
        registered.swarm.specs.pop(service)  # removed behind Rivetr's back
        with pytest.raises(NotFound, match="has no container"):
            await services.stack_reads.logs(SYSTEM, stack_id, "web")
