"""Compose stacks on the real engines, Docker and Podman alike: a stack of a one-shot
migration, a database-like service on a volume, a worker and a web service is deployed wave by
wave and serves; a redeploy keeps what did not change and starts the changed web beside the
old; a release whose web dies at once leaves the previous one serving; a deleted stack keeps
nothing running but its volume."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from rivetr.adapters.runtime.base import ContainerRuntime
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    StackRouteInput,
)
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.service.reactors.stack_specs import volume_name
from tests.integration.database_servers import DOCKER, RealEngine, on_both_engines
from tests.integration.stacks import deleted, deployed, serving

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

CHECK = '["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"]'


def compose(page: str, web_command: str | None = None) -> str:
    serve = f"mkdir -p /www && echo {page} > /www/index.html && exec httpd -f -p 8080 -h /www"
    return f"""
services:
  migrate:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "echo migrated > /data/migrated"]
    volumes: ["data:/data"]
  db:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "test -f /data/migrated && exec sleep 3600"]
    volumes: ["data:/data"]
    depends_on: {{migrate: {{condition: service_completed_successfully}}}}
    healthcheck: {{test: ["CMD-SHELL", "test -f /data/migrated"], interval: 1s, retries: 5}}
  worker:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "while true; do sleep 1; done"]
    depends_on: [db]
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "{web_command or serve}"]
    depends_on: {{db: {{condition: service_healthy}}}}
    healthcheck: {{test: {CHECK}, interval: 1s, retries: 10}}
volumes:
  data: {{}}
"""


@pytest.fixture(params=[DOCKER])
def engine(request: pytest.FixtureRequest) -> RealEngine:
    return request.param  # type: ignore[no-any-return]


async def page(state: StackReleaseState) -> str:
    port = state.services["web"].host_ports[8080]
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/", timeout=5)).text.strip()


async def names(runtime: ContainerRuntime, stack_id: str) -> set[str]:
    return {c.name for c in await runtime.list_containers({"rivetr.stack": stack_id})}


@on_both_engines
async def test_a_stack_deploys_in_waves_redeploys_beside_and_survives_a_broken_release(
    tmp_path: Path, engine: RealEngine
) -> None:
    async with serving(tmp_path, engine, proxy_enabled=False, drain_s=0.5) as services:
        runtime = services.engine.runtime
        assert runtime is not None
        route = StackRouteInput(service="web", port=8080, domains=["blog.example.com"])
        stack_id, _ = await services.stacks.create(
            SYSTEM, CreateStack(name="blog", compose=compose("v1"), routes=[route])
        )
        try:
            first = await deployed(services, stack_id)
            assert first.status == "live", first.failure
            assert first.waves == (("migrate",), ("db",), ("web", "worker"))
            assert first.services["migrate"].mode == "once"
            assert await page(first) == "v1"

            change = ChangeStackSettings(stack_id=stack_id, compose=compose("v2"))
            await services.stacks.change(SYSTEM, change)
            second = await deployed(services, stack_id)
            assert second.status == "live", second.failure
            modes = {name: run.mode for name, run in second.services.items()}
            assert modes == {"migrate": "once", "db": "keep", "worker": "keep", "web": "beside"}
            assert await page(second) == "v2"

            dies = compose("v3", web_command="exit 3")
            await services.stacks.change(
                SYSTEM, ChangeStackSettings(stack_id=stack_id, compose=dies)
            )
            broken = await deployed(services, stack_id)
            assert (broken.status, broken.failed_service) == ("failed", "web")
            assert await page(second) == "v2"  # the previous release serves as it did
            with anyio.fail_after(30):  # its draining web goes; what serves stays
                while first.services["web"].container in await names(runtime, stack_id):  # noqa: ASYNC110
                    await anyio.sleep(0.2)
            serving_now = {r.container for r in second.services.values() if r.mode != "once"}
            assert serving_now <= await names(runtime, stack_id)
        finally:
            await deleted(services, stack_id)
            volume = volume_name(stack_id, "data")
            assert await runtime.volume_exists(volume)  # the data stays
            await runtime.remove_volume(volume)
