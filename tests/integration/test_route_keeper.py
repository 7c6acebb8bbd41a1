"""The route keeper against the real proxy: an app's domain answers from its live release, and
before it has one, with a 503 that says so rather than the page for a host nobody set up."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from rivetr.adapters.proxy import Parked
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from tests.integration.releases import going_live, running_services
from tests.integration.test_proxy import start_backend

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def get(port: int, host: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}/", headers={"Host": host})


async def test_a_domain_answers_503_until_its_app_has_a_live_release(tmp_path: Path) -> None:
    backend, backend_port = start_backend("shop")
    try:
        async with running_services(tmp_path / "data") as services:
            await services.apps.handle(SYSTEM, CreateApp(name="shop", domains=["shop.test"]))
            with anyio.fail_after(10):
                while not isinstance(services.proxy.routes.lookup("shop.test"), Parked):  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            port = services.settings.proxy_http_port

            waiting = await get(port, "shop.test")
            await going_live(services, "shop", ["shop.test"], backend_port)
            live = await get(port, "shop.test")
            unknown = await get(port, "nobody.test")
    finally:
        backend.shutdown()

    assert waiting.status_code == 503
    assert "<b>shop</b> has no running release" in waiting.text
    assert live.status_code == 200
    assert unknown.status_code == 404
