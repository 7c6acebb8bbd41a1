"""A deleted environment's networks, on the twins: its bridge and its overlay go when it is
deleted alone or with its project, another environment's stay, and one the engine will not
remove (a container made outside Rivetr is still on it) is left without stopping the rest."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from rivetr.adapters.runtime.base import MANAGED_LABEL
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.container_spec import ContainerSpec
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import (
    CreateEnvironment,
    CreateProject,
    DeleteEnvironment,
    DeleteProject,
)
from rivetr.service.reactors.database_containers import network_name
from rivetr.service.reactors.overlay import overlay_name
from tests.unit.service.reactors.house import House

pytestmark = pytest.mark.anyio

MANAGED = {MANAGED_LABEL: "true"}


@pytest.fixture
def house(tmp_path: Any) -> House:
    return House(tmp_path / "data")


async def shop(services: Services, house: House, *environments: str) -> None:
    """Project `shop` of the default team with `environments`, each with both its networks
    (as its apps' deploys on one machine and on servers would have made them)."""
    await services.projects.run(SYSTEM, CreateProject(team="default", project="shop"))
    for environment in environments:
        if environment != "production":
            made = CreateEnvironment(team="default", project="shop", environment=environment)
            await services.projects.run(SYSTEM, made)
        bridge = network_name("default", "shop", environment)
        await house.runtime.create_network(bridge, MANAGED)
        await house.swarm.create_network(overlay_name(bridge), MANAGED)


async def delete_environment(services: Services, environment: str) -> None:
    deleted = DeleteEnvironment(team="default", project="shop", environment=environment)
    await services.projects.run(SYSTEM, deleted)


def networks(house: House) -> set[str]:
    return set(house.runtime.networks)


async def gone(house: House, *names: str) -> None:
    with anyio.fail_after(5):
        while set(names) & networks(house):  # noqa: ASYNC110
            await anyio.sleep(0.001)


async def test_a_deleted_environment_takes_its_bridge_and_its_overlay_and_no_other(
    house: House,
) -> None:
    async with house.running() as services:
        await house.swarm.init("10.0.0.1")
        await shop(services, house, "production", "staging")
        staging = network_name("default", "shop", "staging")
        production = network_name("default", "shop", "production")

        await delete_environment(services, "staging")

        await gone(house, staging, overlay_name(staging))
        assert {production, overlay_name(production)} <= networks(house)


async def test_a_deleted_project_takes_the_networks_of_every_environment_it_held(
    house: House,
) -> None:
    async with house.running() as services:
        await house.swarm.init("10.0.0.1")
        await shop(services, house, "production", "staging", "preview")
        await delete_environment(services, "preview")
        preview = network_name("default", "shop", "preview")
        await gone(house, preview, overlay_name(preview))

        await services.projects.run(SYSTEM, DeleteProject(team="default", project="shop"))

        held = [network_name("default", "shop", e) for e in ("production", "staging")]
        await gone(house, *held, *(overlay_name(n) for n in held))


async def test_a_network_still_in_use_is_left_and_the_next_deletion_still_happens(
    house: House,
) -> None:
    async with house.running() as services:
        await house.swarm.init("10.0.0.1")
        await shop(services, house, "production", "staging", "qa")
        staging = network_name("default", "shop", "staging")
        # made by hand on the engine, outside Rivetr: it holds the bridge
        await house.runtime.run_container(
            ContainerSpec(name="by-hand", image=BUSYBOX_IMAGE, network=staging)
        )

        for environment in ("staging", "qa"):
            await delete_environment(services, environment)

        qa = network_name("default", "shop", "qa")
        await gone(house, qa, overlay_name(qa), overlay_name(staging))
        assert staging in networks(house)
