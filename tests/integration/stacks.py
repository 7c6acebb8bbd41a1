"""Helpers for compose stacks on the real engines: Rivetr's services opened on one engine with
the busybox image there, and a stack release deployed and waited on until it settles."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from rivetr.adapters.runtime.baseimage import ensure_busybox_image
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import DeleteStack, DeployStack
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.service.reactors.stack_specs import STACK_LABEL
from tests.engine import connect_real_engine
from tests.integration.database_servers import RealEngine


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, engine: RealEngine, **settings: Any) -> AsyncIterator[Services]:
    """Rivetr on `engine`, its data under `tmp_path`, with `settings` over quick defaults."""
    runtime = await connect_real_engine(engine)
    try:
        await ensure_busybox_image(runtime)
    finally:
        await runtime.close()
    defaults: dict[str, Any] = {
        "poll_interval_s": 0.2,
        "acme_auto": False,
        "resources_interval_s": 0,
    }
    services = await Services.open(
        Settings(data_dir=str(tmp_path / "data"), engine=engine, **(defaults | settings))
    )
    try:
        async with services.background():
            with anyio.fail_after(20):
                await services.engine.ready.wait()
            yield services
    finally:
        await services.close()


async def settled(services: Services, release_id: str) -> StackReleaseState:
    """The release once live or failed, with the read model and the proxy's routes caught up."""
    recorder = services.stack_deployer.ports.recorder
    with anyio.fail_after(240):
        while (state := await recorder.state(release_id)).status not in ("live", "failed"):  # noqa: ASYNC110
            await anyio.sleep(0.2)
    await services.runner.wait_until(await services.store.head())
    if services.settings.proxy_enabled:
        await services.routes.refresh()
    return state


async def deployed(services: Services, stack_id: str) -> StackReleaseState:
    release_id, _ = await services.stacks.deploy(SYSTEM, DeployStack(stack_id=stack_id))
    return await settled(services, release_id)


async def deleted(services: Services, stack_id: str) -> None:
    """Delete the stack and wait until the engine runs nothing of it (the deployer removes
    its containers after the event: a test that closed Rivetr at once would leave them)."""
    await services.stacks.delete(SYSTEM, DeleteStack(stack_id=stack_id))
    runtime = services.engine.runtime
    assert runtime is not None
    with anyio.fail_after(60):
        while await runtime.list_containers({STACK_LABEL: stack_id}):  # noqa: ASYNC110
            await anyio.sleep(0.2)
