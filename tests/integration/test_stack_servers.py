"""A stack with a service on servers, on a real swarm: the host's engine the manager, the lab's
two workers labelled to take the copies, Debian's registry in between. The service asking for 3
copies runs as a swarm service whose tasks are pulled by digest on the workers and reach the
stack's container on the manager by its name over the stack's overlay; its route is balanced
over the copies at each worker's address. A changed release starts beside and drains the old
service; one whose copies fail their health check fails, the old copies still serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from rivetr.adapters.proxy import Balanced
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import ChangeStackSettings, CreateStack, StackRouteInput
from rivetr.service.reactors.route_keeper import route_table
from tests.integration.stacks import deleted, deployed
from tests.integration.test_replicated_deploy import lab, on_lab

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker, pytest.mark.swarm]

__all__ = ["lab"]  # the swarm lab, a fixture of this module too


def compose(greeting: str, check: str = "wget -q -O- http://127.0.0.1/i") -> str:
    return f"""
services:
  cache:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "echo cached > /tmp/c && exec httpd -f -p 8081 -h /tmp"]
  web:
    image: {BUSYBOX_IMAGE}
    depends_on: [cache]
    environment: {{GREETING: {greeting}}}
    command:
      - sh
      - -c
      - >-
        echo "$$GREETING $$(hostname)" > /tmp/i;
        until wget -q -O /tmp/c http://cache:8081/c; do sleep 0.5; done;
        exec httpd -f -p 80 -h /tmp
    deploy:
      replicas: 3
      placement:
        constraints: [node.labels.pool==web]
        preferences: [{{spread: node.labels.pool}}]
    healthcheck:
      test: ["CMD-SHELL", "{check}"]
      interval: 1s
      timeout: 2s
      retries: 3
"""


@pytest.fixture
async def services(lab: Any, tmp_path: Path) -> AsyncIterator[Services]:
    async with on_lab(lab, tmp_path) as opened:
        runtime = opened.engine.runtime
        assert runtime is not None
        await ensure_busybox_image(runtime)
        yield opened


async def fetch(url: str) -> str:
    async with httpx.AsyncClient(timeout=5) as client:
        return (await client.get(url)).text.strip()


async def test_copies_on_the_workers_reach_the_stack_by_name_and_are_balanced(
    services: Services, lab: Any
) -> None:
    route = StackRouteInput(service="web", port=80, domains=["stack.test"])
    stack_id, _ = await services.stacks.create(
        SYSTEM, CreateStack(name="shop", compose=compose("hello"), routes=[route])
    )
    try:
        first = await deployed(services, stack_id)
        assert first.status == "live", first.failure
        web, cache = first.services["web"], first.services["cache"]
        assert web.on_servers
        assert not cache.on_servers
        workers = {lab.address(worker) for worker in lab.workers}
        assert {m.address for m in web.members[80]} == workers  # spread over both, none here
        [image] = {
            t["Spec"]["ContainerSpec"]["Image"]
            for t in lab.client.api.tasks(filters={"service": web.container})
        }
        assert image.startswith(f"{lab.registry}/rivetr/shop-web@sha256:")
        table = await route_table(services.read)
        balanced = table["stack.test"]
        assert isinstance(balanced, Balanced)
        assert len(balanced.members) == 3
        for member in balanced.members:
            assert (await fetch(f"http://{member.host}:{member.port}/i")).startswith("hello ")
            # the copy fetched this from the manager's container, by its name on the overlay
            assert await fetch(f"http://{member.host}:{member.port}/c") == "cached"

        change = ChangeStackSettings(stack_id=stack_id, compose=compose("again"))
        await services.stacks.change(SYSTEM, change)
        second = await deployed(services, stack_id)
        assert second.status == "live", second.failure
        assert second.services["web"].mode == "beside"
        assert second.services["cache"].mode == "keep"
        swarm = services.swarm_engine()
        with anyio.fail_after(60):  # drained after drain_s
            while await swarm.service_labels(web.container or "") is not None:  # noqa: ASYNC110
                await anyio.sleep(0.2)
        for member in second.services["web"].members[80]:
            assert (await fetch(f"http://{member.address}:{member.port}/i")).startswith("again ")

        broken = ChangeStackSettings(stack_id=stack_id, compose=compose("broken", check="false"))
        await services.stacks.change(SYSTEM, broken)
        third = await deployed(services, stack_id)
        assert (third.status, third.failed_service) == ("failed", "web"), third.failure
        assert third.failure is not None
        assert "copy" in third.failure
        serving = second.services["web"]
        assert await swarm.service_labels(serving.container or "") is not None
        assert await swarm.services({"rivetr.stack_release": third.release_id}) == []
        for member in serving.members[80]:
            assert (await fetch(f"http://{member.address}:{member.port}/i")).startswith("again ")
    finally:
        await deleted(services, stack_id)
        swarm = services.swarm_engine()
        with anyio.fail_after(60):
            while await swarm.services({"rivetr.stack": stack_id}):  # noqa: ASYNC110
                await anyio.sleep(0.2)
        with anyio.fail_after(60):  # its overlays too, once the tasks let go of them
            while lab.client.api.networks(filters={"label": f"rivetr.stack={stack_id}"}):  # noqa: ASYNC110
                await anyio.sleep(0.5)
