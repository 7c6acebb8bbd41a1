"""A live release as the pipeline records one, without building anything: for tests of what
happens around a release (routing, TLS) rather than of deploying it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.proxy import Upstream
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    TrafficSwitched,
)
from tests.net import free_port


@contextlib.asynccontextmanager
async def running_services(
    data: Path, clock: Clock | None = None, **settings: Any
) -> AsyncIterator[Services]:
    """The service without a container engine, its proxy on free loopback ports; on `clock`
    when given, else the system's."""
    values: dict[str, Any] = {
        "data_dir": str(data),
        "engine": "none",
        "proxy_host": "127.0.0.1",
        "proxy_http_port": free_port(),
        "proxy_https_port": free_port(),
        "acme_auto": False,
        **settings,
    }
    opened = await Services.open(Settings(**values), clock=clock)
    try:
        async with opened.background():
            yield opened
    finally:
        await opened.close()


async def serving(services: Services, app: str, domains: list[str], port: int) -> None:
    """Create `app` with `domains`, live on `port`, and wait until the proxy routes it."""
    await services.apps.handle(SYSTEM, CreateApp(name=app, domains=domains))
    await going_live(services, app, domains, port)


async def going_live(services: Services, app: str, domains: list[str], port: int) -> None:
    """Record a release of the existing `app` live on `port`, and wait until the proxy routes
    its domains to it."""
    state = await services.lookup.by_name(app)
    history = [
        DeploymentRequested(
            deployment_id="d1", app=app, app_id=state.app_id, branch="main", image="i1"
        ),
        ContainerStarted(
            deployment_id="d1",
            container_id="c1",
            container_name=f"rivetr-{app}-d1",
            image="i1",
            host_port=port,
            duration_ms=1,
        ),
        DeploymentHealthy(deployment_id="d1", probes=1, duration_ms=1),
        TrafficSwitched(deployment_id="d1", app=app, host_port=port),
    ]
    meta = EventMeta(actor="test", team=state.team, resource=state.app_id)
    await services.store.append("deployment-d1", 0, history, meta)
    with anyio.fail_after(10):
        # the router follows the log on its own task: poll its table, briefly
        # (until then, the app's domain answers that it has no running release)
        while not isinstance(services.proxy.routes.lookup(domains[0]), Upstream):  # noqa: ASYNC110
            await anyio.sleep(0.05)
