"""The real container engine for tests: connected, or a loud failure in CI and a skip elsewhere."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from rivetr.adapters.runtime.base import ContainerRuntime, EngineUnavailable
from rivetr.adapters.runtime.detect import Engine, connect_runtime

# Every container and image a test makes carries this label (or a unique name): cleanup finds them.
TEST_RUN_LABEL = "rivetr.test-run"


async def connect_real_engine(engine: Engine = "auto") -> ContainerRuntime:
    """`connect_runtime(engine)`; when nothing answers, fail under CI (never skip a real
    engine silently there: tests/run starts Docker and Podman) and skip otherwise.
    """
    try:
        return await connect_runtime(engine)
    except EngineUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test against a real container engine: {exc}", pytrace=False)
        pytest.skip(f"no container engine reachable: {exc}")


async def remove_test_leftovers(
    runtime: ContainerRuntime,
    run_id: str,
    images: list[str],
    networks: Sequence[str] = (),
    volumes: Sequence[str] = (),
) -> None:
    """Remove this run's containers (running or not), then `networks`, `volumes` and the
    volumes labelled as this run's, and `images`."""
    for container in await runtime.list_containers({TEST_RUN_LABEL: run_id}):
        await runtime.remove_container(container.id, force=True)
    for network in networks:
        await runtime.remove_network(network)
    for volume in volumes:
        await runtime.remove_volume(volume)
    for volume in await runtime.list_volumes({TEST_RUN_LABEL: run_id}):
        await runtime.remove_volume(volume.name)
    for image in images:
        await runtime.remove_image(image)
