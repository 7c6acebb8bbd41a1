"""Database upgrades on the real engine: a verified backup first, the volume copied to a
snapshot, the new image on the volume; a new image that never comes up is rolled back to the
old image on the old data; an upgrade whose backup fails touches nothing. The test images
stand in for the official ones through the image map (16 and 17 are the same PostgreSQL 15:
what changes is the version the database records, what must stay is the data)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.database_commands import UpgradeDatabase
from rivetr.service.reactors.database_containers import container_name, credentials, kind_of
from rivetr.service.reactors.database_copies import run_check
from rivetr.service.reactors.database_upgrades import SNAPSHOT_LABEL
from tests.database_images import POSTGRES, ensure_image
from tests.engine import connect_real_engine
from tests.integration.database_servers import connect_docker
from tests.integration.test_database_backups import (
    SEED,
    create_running,
    opened,
    sql,
    wrong_target,
)
from tests.integration.test_database_backups import until as until_view
from tests.s3server import S3Server, moto_s3_server

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

IMAGES = {
    "postgres:16-alpine": POSTGRES.tag,
    "postgres:17-alpine": POSTGRES.tag,
    "postgres:18-alpine": BUSYBOX_IMAGE,  # no server in it: it never becomes healthy
}


@pytest.fixture(scope="module")
def built() -> None:
    ensure_image(connect_docker(), POSTGRES)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        server.boto3().create_bucket(Bucket="backups")  # type: ignore[attr-defined]
        yield server


@pytest.fixture
async def services(tmp_path: Path, built: None) -> AsyncIterator[Services]:
    runtime = await connect_real_engine("docker")
    await ensure_busybox_image(runtime)
    await runtime.close()
    # an image that never comes up is waited for this long (180 s by default): PostgreSQL
    # starts in a few seconds here, so a short wait tells the failure without idling CI
    async with opened(
        tmp_path, "docker", database_images=IMAGES, database_health_timeout_s=30
    ) as up:
        yield up


async def counts(services: Services, database_id: str) -> dict[str, int]:
    state = await services.database_keeper.state(database_id)
    runtime = services.engine.runtime
    assert runtime is not None
    creds = credentials(services.secrets, state)
    return await run_check(runtime, container_name(database_id), kind_of(state), creds)


async def snapshots(services: Services, database_id: str) -> list[str]:
    runtime = services.engine.runtime
    assert runtime is not None
    return [
        v.name
        for v in await runtime.list_volumes({"rivetr.database": database_id})
        if SNAPSHOT_LABEL in v.labels
    ]


async def upgraded(
    services: Services, database_id: str, version: str, target: str = "local"
) -> Any:
    await services.databases.upgrade(
        SYSTEM, UpgradeDatabase(database_id=database_id, version=version, target=target)
    )
    return await until_view(
        services,
        lambda: services.read.databases.one(database_id),
        lambda v: v.status != "upgrading",
        timeout_s=300,
    )


async def test_an_upgrade_takes_a_verified_backup_and_keeps_the_data(services: Services) -> None:
    database_id = await create_running(services, "postgres", "pgup")
    await sql(services, database_id, SEED["postgres"])
    before = await counts(services, database_id)

    view = await upgraded(services, database_id, "17")

    assert (view.status, view.version, view.image) == ("running", "17", "postgres:17-alpine")
    assert view.failure is None
    assert await counts(services, database_id) == before
    taken = await services.read.databases.backups_of(database_id)
    assert [(b.reason, b.status) for b in taken] == [("before_upgrade", "verified")]
    assert await snapshots(services, database_id) == []  # the verified backup is the way back


async def test_an_image_that_never_comes_up_is_rolled_back_to_the_old_one(
    services: Services,
) -> None:
    database_id = await create_running(services, "postgres", "pgfail")
    await sql(services, database_id, SEED["postgres"])
    before = await counts(services, database_id)

    view = await upgraded(services, database_id, "18")

    assert (view.status, view.version, view.image) == ("running", "16", "postgres:16-alpine")
    assert "postgres:18-alpine did not come up" in view.failure
    assert "runs again on the old data" in view.failure
    runtime = services.engine.runtime
    assert runtime is not None
    info = await runtime.inspect_container(container_name(database_id))
    assert info is not None
    assert info.state == "running"
    assert "rivetr.upgrade" not in info.labels
    assert await counts(services, database_id) == before
    assert await snapshots(services, database_id) == []


async def test_an_upgrade_whose_backup_fails_touches_nothing(
    services: Services, s3: S3Server
) -> None:
    await wrong_target(services, s3)
    database_id = await create_running(services, "postgres", "pgnobackup")
    runtime = services.engine.runtime
    assert runtime is not None
    started = await runtime.inspect_container(container_name(database_id))

    view = await upgraded(services, database_id, "17", target="wrong")

    assert (view.status, view.version) == ("running", "16")
    assert "the backup taken first failed" in view.failure
    assert "was not touched" in view.failure
    now = await runtime.inspect_container(container_name(database_id))
    assert started is not None
    assert now is not None
    assert (now.id, now.state) == (started.id, "running")  # the same container, never stopped
