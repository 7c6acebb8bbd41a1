"""A stack the log says is live but the engine runs nothing of (restored onto a new machine, an
engine wiped) is deployed again at start, from what its live release ran; one whose containers
are there is left alone."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import CreateStack
from tests.integration.stacks import deleted, deployed, serving, settled

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

SERVE = "mkdir -p /www && echo {page} > /www/index.html && exec httpd -f -p 8080 -h /www"
COMPOSE = f"""
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "{SERVE.format(page="blog")}"]
"""


async def test_a_live_stack_with_no_container_left_is_deployed_again(tmp_path: Path) -> None:
    async with serving(tmp_path, "docker", proxy_enabled=False, drain_s=0.2) as services:
        stack_id, _ = await services.stacks.create(
            SYSTEM, CreateStack(name="blog", compose=COMPOSE)
        )
        first = await deployed(services, stack_id)
        assert first.status == "live"
        runtime = services.engine.runtime
        assert runtime is not None
        try:
            assert await services.stack_deployer.lost() == []  # running: nothing to do
            for container in await runtime.list_containers({"rivetr.stack": stack_id}):
                await runtime.remove_container(container.name, force=True)
            assert await services.stack_deployer.lost() == [(stack_id, None)]

            await services.revive_stacks()

            with anyio.fail_after(60):
                while True:
                    [latest, *_] = await services.read.stacks.releases_of(stack_id)
                    if latest.release_id != first.release_id:
                        break
                    await anyio.sleep(0.2)
            again = await settled(services, latest.release_id)
            assert again.status == "live"
            assert latest.trigger == "rebuild"
            container = again.services["web"].container
            assert container is not None
            assert container != first.services["web"].container
            asked = ["/usr/bin/docker", "exec", container, "wget", "-qO-", "http://127.0.0.1:8080/"]
            served = await anyio.run_process(asked)
            assert served.stdout.decode().strip() == "blog"
            assert await services.stack_deployer.lost() == []
        finally:
            await deleted(services, stack_id)
