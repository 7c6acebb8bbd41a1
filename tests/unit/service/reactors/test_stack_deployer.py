"""The stack deployer on the twins: a release starts its services wave by wave, gates each,
switches every route at once; a redeploy keeps what did not change and starts a changed
service beside its previous container; any failure puts every service back on its previous
container; a deleted stack keeps nothing running but its volumes; a rollback runs a served
release's images again."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer
from rivetr.domain.access import SYSTEM
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    DeleteStack,
    DeployStack,
    RollBackStack,
    StackRouteInput,
)
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.service.reactors.route_keeper import route_table
from tests.unit.service.reactors.house import House

pytestmark = pytest.mark.anyio

DB = f"""
  db:
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    volumes: ["data:/var/lib/data"]
    healthcheck: {{test: ["CMD-SHELL", "true"], interval: 1s, retries: 3}}
"""
WEB = """
  web:
    image: {image}
    command: ["httpd", "-f"]
    depends_on: {{db: {{condition: service_healthy}}}}
    healthcheck: {{test: ["CMD-SHELL", "true"], interval: 1s, retries: 3}}
"""


def compose(web_image: str = BUSYBOX_IMAGE, extra: str = "") -> str:
    return "services:" + DB + WEB.format(image=web_image) + extra + "volumes:\n  data: {}\n"


async def make(services: Any, text: str) -> str:
    route = StackRouteInput(service="web", port=80, domains=["blog.example.com"])
    stack_id, _ = await services.stacks.create(
        SYSTEM, CreateStack(name="blog", compose=text, routes=[route])
    )
    return stack_id


async def deployed(services: Any, stack_id: str, statuses: set[str]) -> StackReleaseState:
    release_id, _ = await services.stacks.deploy(SYSTEM, DeployStack(stack_id=stack_id))
    return await until(services, release_id, statuses)


async def until(services: Any, release_id: str, statuses: set[str]) -> StackReleaseState:
    recorder = services.stack_deployer.ports.recorder
    with anyio.fail_after(5):
        while (state := await recorder.state(release_id)).status not in statuses:  # noqa: ASYNC110
            await anyio.sleep(0.001)
        await services.runner.wait_until(await services.store.head())
    return state


def healthy_shell(house: House) -> None:
    house.runtime.on_exec("sh", lambda call: FakeExecAnswer(exit_code=0))


async def test_a_release_starts_its_waves_gates_them_and_switches_every_route(
    house: House,
) -> None:
    healthy_shell(house)
    async with house.running() as services:
        stack_id = await make(services, compose())
        first = await deployed(services, stack_id, {"live", "failed"})
        assert first.status == "live", first.failure
        assert first.waves == (("db",), ("web",))
        assert {n: r.mode for n, r in first.services.items()} == {"db": "replace", "web": "beside"}
        running = {c.name for c in await house.runtime.list_containers({"rivetr.stack": stack_id})}
        assert running == {r.container for r in first.services.values()}
        table = await route_table(services.read)
        assert table["blog.example.com"].port == first.services["web"].host_ports[80]
        volumes = await house.runtime.list_volumes({})
        assert f"rivetr-stack-{stack_id}-data" in {v.name for v in volumes}


async def test_a_redeploy_keeps_what_did_not_change_and_drains_what_did(house: House) -> None:
    healthy_shell(house)
    await house.runtime.import_image(b"another fs", "web:2", cmd=["/bin/sh"])
    async with house.running() as services:
        stack_id = await make(services, compose())
        first = await deployed(services, stack_id, {"live", "failed"})
        same = await deployed(services, stack_id, {"live", "failed"})
        assert {n: r.mode for n, r in same.services.items()} == {"db": "keep", "web": "keep"}
        change = ChangeStackSettings(stack_id=stack_id, compose=compose("web:2"))
        await services.stacks.change(SYSTEM, change)
        house.gates.hold("drain")
        third = await deployed(services, stack_id, {"live", "failed"})
        assert third.status == "live", third.failure
        assert {n: r.mode for n, r in third.services.items()} == {"db": "keep", "web": "beside"}
        old_web = first.services["web"].container
        await house.gates.wait_reached("drain")
        assert (await house.runtime.inspect_container(old_web)).state == "running"  # draining
        house.gates.release("drain")
        with anyio.fail_after(5):
            while await house.runtime.inspect_container(old_web) is not None:  # noqa: ASYNC110
                await anyio.sleep(0.001)
        assert await house.runtime.inspect_container(first.services["db"].container)


async def test_a_service_that_fails_puts_every_service_back_on_its_previous_container(
    house: House,
) -> None:
    healthy_shell(house)
    await house.runtime.import_image(b"broken fs", "broken:1", cmd=["/bin/sh"])
    async with house.running() as services:
        stack_id = await make(services, compose())
        first = await deployed(services, stack_id, {"live", "failed"})
        extra = "\n  db-2:\n    image: nope:1\n"
        await services.stacks.change(
            SYSTEM, ChangeStackSettings(stack_id=stack_id, compose=compose("broken:1", extra))
        )
        failed = await deployed(services, stack_id, {"live", "failed"})
        assert (failed.status, failed.failed_service) == ("failed", "db-2")
        assert "image nope:1 is not on this host" in (failed.failure or "")
        running = {c.name for c in await house.runtime.list_containers({"rivetr.stack": stack_id})}
        assert running == {r.container for r in first.services.values()}

        # the image is there, the process dies at once: the new web goes, db comes back
        await services.stacks.change(
            SYSTEM, ChangeStackSettings(stack_id=stack_id, compose=compose("broken:1"))
        )
        house.runtime.on_exec("sh", lambda call: FakeExecAnswer(exit_code=1))
        crashed = await deployed(services, stack_id, {"live", "failed"})
        assert crashed.status == "failed"
        for name, run in first.services.items():
            info = await house.runtime.inspect_container(run.container)
            assert (info.state if info else None) == "running", name
        view = await services.read.stacks.one(stack_id)
        assert view.live_release_id == first.release_id


PRIVILEGED = f"services:\n  web:\n    image: {BUSYBOX_IMAGE}\n    privileged: true\n"
REPOSITORY = "https://git.example.com/stack.git"


async def git_stack(services: Any, house: House, name: str, team: str) -> str:
    house.source.commit(REPOSITORY, {"compose.yaml": PRIVILEGED}, "privileged")
    command = CreateStack(name=name, team=team, git_url=REPOSITORY)
    return (await services.stacks.create(SYSTEM, command))[0]


async def test_a_compose_file_asking_for_the_host_fails_before_anything_starts(
    house: House,
) -> None:
    async with house.running() as services:
        stack_id = await git_stack(services, house, "blog", "default")
        failed = await deployed(services, stack_id, {"live", "failed"})
        assert failed.status == "failed"
        assert "compose.yaml:4: services.web.privileged" in (failed.failure or "")
        assert await house.runtime.list_containers({"rivetr.stack": stack_id}) == []


async def test_a_release_weighs_its_compose_file_against_its_own_teams_allowances(
    house: House,
) -> None:
    async with house.running() as services:
        await services.teams.create(SYSTEM, "acme", "Acme", owner="ann@example.com")
        acme = await git_stack(services, house, "tools", "acme")
        other = await git_stack(services, house, "tools", "default")
        assert (await deployed(services, acme, {"live", "failed"})).status == "failed"

        await services.stack_allowances.set(SYSTEM, "acme", Allowances(privileged=True))
        from_git = await deployed(services, acme, {"live", "failed"})
        assert from_git.status == "live", from_git.failure
        inline, _ = await services.stacks.create(
            SYSTEM, CreateStack(name="inline", team="acme", compose=PRIVILEGED)
        )
        from_text = await deployed(services, inline, {"live", "failed"})
        assert from_text.status == "live", from_text.failure
        refused = await deployed(services, other, {"live", "failed"})
        assert refused.status == "failed"
        assert "services.web.privileged" in (refused.failure or "")

        await services.stack_allowances.set(SYSTEM, "acme", Allowances())
        taken_back = await deployed(services, acme, {"live", "failed"})
        assert taken_back.status == "failed"
        assert "compose.yaml:4: services.web.privileged" in (taken_back.failure or "")


async def test_a_deleted_stack_keeps_nothing_running_but_its_volumes(house: House) -> None:
    healthy_shell(house)
    async with house.running() as services:
        stack_id = await make(services, compose(extra="networks:\n  backend: {}\n"))
        await deployed(services, stack_id, {"live"})
        networks = await house.runtime.list_networks({"rivetr.stack": stack_id})
        assert networks == [f"rivetr-stack-{stack_id}", f"rivetr-stack-{stack_id}-backend"]
        await services.stacks.delete(SYSTEM, DeleteStack(stack_id=stack_id))
        with anyio.fail_after(5):
            while await house.runtime.list_networks({"rivetr.stack": stack_id}):  # noqa: ASYNC110
                await anyio.sleep(0.001)
        assert not await house.runtime.list_containers({"rivetr.stack": stack_id})
        assert f"rivetr-stack-{stack_id}-data" in {
            v.name for v in await house.runtime.list_volumes({})
        }


async def test_a_rollback_runs_a_served_releases_images_again(house: House) -> None:
    healthy_shell(house)
    await house.runtime.import_image(b"another fs", "web:2", cmd=["/bin/sh"])
    async with house.running() as services:
        stack_id = await make(services, compose())
        first = await deployed(services, stack_id, {"live"})
        await services.stacks.change(
            SYSTEM, ChangeStackSettings(stack_id=stack_id, compose=compose("web:2"))
        )
        await deployed(services, stack_id, {"live"})
        back_id, _ = await services.stacks.roll_back(
            SYSTEM, RollBackStack(stack_id=stack_id, to=first.release_id)
        )
        back = await until(services, back_id, {"live", "failed"})
        assert back.status == "live", back.failure
        assert back.services["web"].image == first.services["web"].image
        assert back.services["web"].mode == "beside"


async def test_a_host_port_another_stack_publishes_fails_the_release_at_its_claims(
    house: House,
) -> None:
    text = f"services:\n  web:\n    image: {BUSYBOX_IMAGE}\n    ports: ['18080:8080']\n"
    async with house.running() as services:
        first, _ = await services.stacks.create(SYSTEM, CreateStack(name="one", compose=text))
        assert (await deployed(services, first, {"live", "failed"})).status == "live"
        second, _ = await services.stacks.create(SYSTEM, CreateStack(name="two", compose=text))
        refused = await deployed(services, second, {"live", "failed"})
        assert (refused.status, refused.failure) == (
            "failed",
            "host port 18080 is already published on this host",
        )
        assert await house.runtime.list_containers({"rivetr.stack": second}) == []
        await services.stacks.delete(SYSTEM, DeleteStack(stack_id=first))
        assert (await deployed(services, second, {"live", "failed"})).status == "live"


async def test_references_in_variables_and_in_the_file_resolve_at_deploy_time(
    house: House,
) -> None:
    from rivetr.domain.commands import ChangeTeamVariables

    text = (
        f"services:\n  web:\n    image: {BUSYBOX_IMAGE}\n"
        "    environment:\n      GREETING: ${MESSAGE}\n      DIRECT: ${{team.HELLO}}\n"
    )
    async with house.running() as services:
        await services.variables.change(
            SYSTEM, ChangeTeamVariables(team="default", variables={"HELLO": "hi"})
        )
        stack_id, _ = await services.stacks.create(
            SYSTEM,
            CreateStack(name="refs", compose=text, variables={"MESSAGE": "${{team.HELLO}} there"}),
        )
        live = await deployed(services, stack_id, {"live", "failed"})
        assert live.status == "live", live.failure
        [spec] = [s for s in house.runtime.started if s.name == live.services["web"].container]
        assert (spec.env["GREETING"], spec.env["DIRECT"]) == ("hi there", "hi")
        wrong = ChangeStackSettings(stack_id=stack_id, compose=text.replace("HELLO", "NOPE"))
        await services.stacks.change(SYSTEM, wrong)
        failed = await deployed(services, stack_id, {"live", "failed"})
        assert (failed.status, failed.failed_service) == ("failed", "web"), failed.failure
        assert "team.NOPE" in (failed.failure or "")
