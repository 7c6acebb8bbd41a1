"""An app on servers reaching its environment's databases, on the twins: the environment's
overlay is made on the swarm before the release's service, the service is on it, and every
database of the environment is on it by the name the app's variables use; a database started
later joins it too, and an overlay the engine will not make fails the start in its words."""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest

from rivetr.adapters.runtime.base import MANAGED_LABEL, ContainerError
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateEnvironment
from rivetr.domain.database_commands import CreateDatabase
from rivetr.domain.databases import DEFAULT_VERSIONS, image_for
from rivetr.service.reactors.database_containers import container_name, network_name
from rivetr.service.reactors.overlay import overlay_name
from tests.unit.service.reactors.house import House, until
from tests.unit.service.reactors.test_replica_release import (
    REGISTRY,
    deploy,
    deploy_failing,
    on_servers,
)

pytestmark = pytest.mark.anyio

OVERLAY = "rivetr_default_default_production-ov"  # web's environment's
IMAGE = image_for("redis", DEFAULT_VERSIONS["redis"])


@pytest.fixture
def registered(tmp_path: Any) -> House:
    house = House(tmp_path / "data", registry=REGISTRY)
    house.runtime.on_exec("env", lambda call: FakeExecAnswer())  # the databases' health check
    return house


async def database(
    services: Services, house: House, name: str, environment: str = "production"
) -> str:
    """A Redis database of `environment` (web's by default), running."""
    await house.runtime.import_image(b"redis", IMAGE, cmd=["redis-server"])
    database_id, _ = await services.databases.create(
        SYSTEM, CreateDatabase(name=name, kind="redis", environment=environment)
    )
    with anyio.fail_after(10):
        while True:
            await services.runner.wait_until(await services.store.head())
            view = await services.read.databases.one(database_id)
            if view is not None and view.status in ("running", "failed"):
                break
            await anyio.sleep(0.005)
    assert view.status == "running", view.failure
    return database_id


def aliases_on(house: House, database_id: str, network: str) -> list[str] | None:
    return house.runtime.attached(container_name(database_id)).get(network)


async def test_the_copies_and_the_environments_databases_share_its_overlay(
    registered: House,
) -> None:
    house = registered
    async with on_servers(house) as services:
        cache = await database(services, house, "cache")

        first = await until(services, await deploy(services), {"live", "failed"})
        house.commit("v2")
        second = await until(services, await deploy(services), {"live", "failed"})  # again: fine

        assert (first.status, second.status) == ("live", "live")
        assert house.swarm.networks[OVERLAY] == {MANAGED_LABEL: "true"}
        [spec] = house.swarm.specs.values()
        assert (spec.networks, spec.aliases) == ([OVERLAY], ["web"])
        assert aliases_on(house, cache, OVERLAY) == ["cache"]


async def test_another_environments_databases_stay_off_the_overlay(registered: House) -> None:
    house = registered
    async with on_servers(house) as services:
        await services.projects.run(
            SYSTEM, CreateEnvironment(team="default", project="default", environment="staging")
        )
        await database(services, house, "cache")
        theirs = await database(services, house, "cache", environment="staging")

        assert (await until(services, await deploy(services), {"live", "failed"})).status == "live"

        assert list(house.runtime.attached(container_name(theirs))) == [
            "rivetr.default.default.staging"
        ]


async def test_a_database_started_after_the_overlay_joins_it(registered: House) -> None:
    house = registered
    async with on_servers(house) as services:
        await database(services, house, "cache")
        assert (await until(services, await deploy(services), {"live", "failed"})).status == "live"

        later = await database(services, house, "queue")

        assert aliases_on(house, later, OVERLAY) == ["queue"]


async def test_without_databases_the_copies_are_on_no_overlay(registered: House) -> None:
    house = registered
    async with on_servers(house) as services:
        assert (await until(services, await deploy(services), {"live", "failed"})).status == "live"

        [spec] = house.swarm.specs.values()
        assert (spec.networks, spec.aliases) == ([], [])
        assert OVERLAY not in house.swarm.networks


async def test_an_overlay_the_engine_will_not_make_fails_the_start_naming_it(
    registered: House,
) -> None:
    house = registered

    async def refused(name: str, labels: dict[str, str]) -> None:
        raise ContainerError(f"create network {name}: could not find an available IP")

    house.swarm.create_network = refused  # type: ignore[method-assign]
    async with on_servers(house) as services:
        await database(services, house, "cache")

        step, reason = await deploy_failing(services)

        assert step == "start"
        assert reason == (
            f"the network {OVERLAY} could not be made:"
            f" create network {OVERLAY}: could not find an available IP"
        )
        assert house.swarm.specs == {}


def test_every_environment_has_its_own_overlay_named_as_the_swarm_allows() -> None:
    label = re.compile(r"[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*")  # the swarm's rule for a name
    long = "e" * 63
    names = [
        overlay_name(network_name(team, project, environment))
        for team, project, environment in [
            ("a-b", "c", "d"),
            ("a", "b-c", "d"),
            ("a", "b", "c-d"),
            ("t" * 39, long, long),
            ("t" * 39, long, long[:-1]),
        ]
    ]

    assert len(set(names)) == len(names)
    assert all(label.fullmatch(name) and len(name) <= 63 for name in names), names
    assert names[0] == "rivetr_a-b_c_d-ov"
