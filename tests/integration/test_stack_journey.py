"""The issue's journey for compose stacks, on Docker and Podman alike: a stack of three services
from a git repository (a web service built from the repository with a build argument, a worker
built from it too, and PostgreSQL through the instance's image map) deploys and is reached by
its domain through Rivetr's proxy; under steady load through the proxy it is redeployed, has its
web service fail (the whole stack returns to the previous images, the worker included) and is
rolled back by hand to its first release, and no request fails in all of it."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import (
    CreateStack,
    RollBackStack,
    StackRouteInput,
)
from rivetr.service.reactors.stack_specs import SERVICE_LABEL, STACK_LABEL, volume_name
from tests.database_images import POSTGRES
from tests.integration.database_servers import RealEngine, images_in, on_both_engines
from tests.integration.deploy_helpers import AppRepo
from tests.integration.stacks import deleted, deployed, serving, settled
from tests.integration.test_deploy_pipeline import LOAD
from tests.net import free_port

pytestmark = [pytest.mark.anyio]

DOMAIN = "shop.test"
# what the compose file names; the instance's image map runs the one built from Debian's package
POSTGRES_IMAGE = "postgres:16.6-alpine"

DOCKERFILE = """FROM rivetr/busybox:latest
ARG GREETING=unset
COPY . /www/
RUN echo "$GREETING" > /www/greeting.txt
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""
# busybox's nc has no -z: it connects, sends nothing and exits 0 when the port answers
REACHES_DB = "nc -w 2 db 5432 </dev/null"
COMPOSE = f"""
services:
  db:
    image: {POSTGRES_IMAGE}
    environment:
      POSTGRES_PASSWORD: ${{DB_PASSWORD:?the stack needs DB_PASSWORD}}
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres"]
      interval: 1s
      retries: 60
  worker:
    build: .
    command: ["sh", "-c", "while true; do {REACHES_DB} && date > /tmp/beat; sleep 1; done"]
    depends_on: {{db: {{condition: service_healthy}}}}
  web:
    build:
      context: .
      args: {{GREETING: hello from the build}}
    expose: ["8080"]
    depends_on: {{db: {{condition: service_healthy}}}}
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/health.txt && {REACHES_DB}"]
      interval: 1s
      retries: 15
volumes:
  pgdata: {{}}
"""


def commit(repo: AppRepo, version: str, healthy: bool = True) -> str:
    """The repository at `version`: its page says the version; without health.txt the web
    service's health check fails (the worker, which has none, runs as before)."""
    (repo.path / "health.txt").unlink(missing_ok=True)
    files = {"compose.yaml": COMPOSE}
    if healthy:
        files["health.txt"] = "ok"
    return repo.commit(version, dockerfile=DOCKERFILE, body=version, files=files)


@contextlib.asynccontextmanager
async def shop_serving(
    tmp_path: Path, engine: RealEngine, request: pytest.FixtureRequest
) -> AsyncIterator[Services]:
    images_in(engine, request, POSTGRES)
    async with serving(
        tmp_path,
        engine,
        proxy_host="127.0.0.1",
        proxy_http_port=free_port(),
        proxy_https_port=free_port(),
        drain_s=1,
        git_local_dirs=[str(tmp_path)],
        database_images={POSTGRES_IMAGE: POSTGRES.tag},
    ) as services:
        yield services


async def through_proxy(services: Services, path: str = "/") -> str:
    port = services.settings.proxy_http_port
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"http://127.0.0.1:{port}{path}", headers={"Host": DOMAIN}, timeout=5
        )
    response.raise_for_status()
    return response.text.strip()


@contextlib.asynccontextmanager
async def steady_load(services: Services, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """GETs through the proxy from another process until the block ends; the dict it yields
    holds, afterwards, how many succeeded and what failed. (Its output is read without
    blocking: the proxy answering it runs on this event loop.)"""
    stop = tmp_path / "stop-load"
    port = str(services.settings.proxy_http_port)
    result: dict[str, Any] = {}
    async with await anyio.open_process(
        [sys.executable, "-c", LOAD, port, DOMAIN, str(stop)], stderr=None
    ) as loader:
        try:
            yield result
        finally:
            stop.touch()
            assert loader.stdout is not None
            output = b"".join([chunk async for chunk in loader.stdout])
    result.update(json.loads(output))


async def running_container(services: Services, stack_id: str, service: str) -> str:
    runtime = services.engine.runtime
    assert runtime is not None
    containers = await runtime.list_containers({STACK_LABEL: stack_id, SERVICE_LABEL: service})
    running = [c.name for c in containers if c.state == "running"]
    assert len(running) == 1, running
    return running[0]


@on_both_engines
async def test_a_three_service_stack_is_served_redeployed_failed_and_rolled_back_under_load(
    tmp_path: Path, engine: RealEngine, request: pytest.FixtureRequest
) -> None:
    repo = AppRepo(tmp_path / "shop")
    commit(repo, "v1")
    async with shop_serving(tmp_path, engine, request) as services:
        runtime = services.engine.runtime
        assert runtime is not None
        stack_id, _ = await services.stacks.create(
            SYSTEM,
            CreateStack(
                name="shop",
                git_url=str(repo.path),
                routes=[StackRouteInput(service="web", port=8080, domains=[DOMAIN])],
                variables={"DB_PASSWORD": "s3cret-for-the-db"},
            ),
        )
        try:
            first = await deployed(services, stack_id)
            assert first.status == "live", (first.failed_service, first.failure)
            assert first.waves == (("db",), ("web", "worker"))
            # the image the map names, recorded by id: a rollback runs these bytes again
            assert first.services["db"].image == await runtime.image_id(POSTGRES.tag)
            assert await through_proxy(services) == "v1"
            assert await through_proxy(services, "/greeting.txt") == "hello from the build"

            async with steady_load(services, tmp_path) as load:
                commit(repo, "v2")
                second = await deployed(services, stack_id)
                assert second.status == "live", second.failure
                modes = {name: run.mode for name, run in second.services.items()}
                assert modes == {"db": "keep", "worker": "replace", "web": "beside"}
                assert await through_proxy(services) == "v2"
                commit(repo, "v3", healthy=False)
                broken = await deployed(services, stack_id)
                assert (broken.status, broken.failed_service) == ("failed", "web")
                assert await through_proxy(services) == "v2"
                # v3's worker had replaced v2's: v2's runs again, and v3's is gone
                assert broken.services["worker"].image != second.services["worker"].image
                worker = second.services["worker"].container
                assert await running_container(services, stack_id, "worker") == worker
                back_id, _ = await services.stacks.roll_back(
                    SYSTEM, RollBackStack(stack_id=stack_id, to=first.release_id)
                )
                back = await settled(services, back_id)
                assert back.status == "live", back.failure
                assert {n: r.image for n, r in back.services.items()} == {
                    n: r.image for n, r in first.services.items()
                }
                assert not any(run.built for run in back.services.values())
                assert await through_proxy(services) == "v1"
            assert load["failures"] == 0, load["failed"]
            assert load["ok"] > 50
        finally:
            await deleted(services, stack_id)
            await runtime.remove_volume(volume_name(stack_id, "pgdata"))
