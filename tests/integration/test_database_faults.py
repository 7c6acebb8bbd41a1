"""Managed databases' faults on the real engine, through the services and their reactors: a
missing S3 bucket, a full local disk (a tiny tmpfs), the database stopped mid-dump, a corrupt
encrypted backup, a backup of another kind, and retention when later backups fail. Each ends
in a failed event with its cause, leaves no object counted as a backup on the target, and the
live data answers the same counts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from rivetr.adapters.backup_targets.local import LocalDirectoryTarget
from rivetr.adapters.eventstore.base import EventMeta
from rivetr.bootstrap import Services
from rivetr.domain import backups
from rivetr.domain.access import SYSTEM
from rivetr.domain.database_commands import BackUpDatabase, RestoreBackup, S3Input, SetBackupTarget
from rivetr.domain.database_events import BackupReadBack, BackupStored
from rivetr.domain.errors import InvalidCommand
from rivetr.service.reactors.database_containers import (
    container_name,
    credentials,
    kind_of,
    wait_healthy,
)
from rivetr.service.reactors.database_copies import run_check
from tests.disks import small_tmpfs
from tests.integration.test_database_backups import (
    back_up,
    built,  # noqa: F401 - a fixture
    create_running,
    engine,  # noqa: F401 - a fixture
    opened,
    restored,
    s3,  # noqa: F401 - a fixture
    sql,
    until,
)
from tests.integration.test_database_backups import (
    services as services,
)
from tests.s3server import S3Server

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

DOCKER = "/usr/bin/docker"

# random hex hardly compresses: a dump of this is megabytes, and takes a while to compress
BIG = (
    "CREATE TABLE t (n int, s text); INSERT INTO t"
    " SELECT n, md5(random()::text) || md5(random()::text) FROM generate_series(1, {rows}) n;"
)


async def counts(services: Services, database_id: str) -> dict[str, int]:
    """What the live database answers, through the same check a backup counts with."""
    state = await services.database_keeper.state(database_id)
    runtime = services.engine.runtime
    assert runtime is not None
    return await run_check(
        runtime, container_name(database_id), kind_of(state), credentials(services.secrets, state)
    )


async def local_objects(services: Services, target: str = "local") -> list[str]:
    root = services.settings.backups_path / "default" / target
    if not root.exists():
        return []
    return [info.key for info in await LocalDirectoryTarget(root).list()]


def files(root: Path) -> list[Path]:
    """Every file under `root`, a target's partial uploads and sidecars too."""
    return [p for p in root.rglob("*") if p.is_file()]


async def s3_target(
    services: Services,
    server: S3Server,
    name: str,
    bucket: str,
    passphrase: str | None = None,
) -> None:
    await services.backups.set_target(
        SYSTEM,
        SetBackupTarget(
            name=name,
            s3=S3Input(
                endpoint=server.endpoint,
                bucket=bucket,
                access_key=server.access_key,
                secret_key=server.secret_key,
                path_style=True,
            ),
            encryption_passphrase=passphrase,
        ),
    )


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "tiny", "1m") as disk:
        yield disk


async def test_a_missing_bucket_fails_the_backup_at_store_naming_it(
    services: Services,
    s3: S3Server,  # noqa: F811
) -> None:
    bucket = f"missing-{uuid.uuid4().hex[:8]}"
    await s3_target(services, s3, "nobucket", bucket)
    database_id = await create_running(services, "postgres", "pgnobucket")
    await sql(services, database_id, "CREATE TABLE t (n int); INSERT INTO t VALUES (1);")
    backup = await back_up(services, database_id, "nobucket")
    assert (backup.status, backup.failed_step) == ("failed", "store"), backup.failure
    assert bucket in backup.failure
    assert (await services.read.databases.one(database_id)).last_verified_backup_id is None
    assert await counts(services, database_id) == {"public.t": 1}


async def test_a_full_disk_fails_the_backup_at_store_and_leaves_nothing(
    tmp_path: Path,
    built: None,  # noqa: F811
    tiny_disk: Path,
) -> None:
    async with opened(tmp_path, backups_dir=str(tiny_disk)) as services:
        database_id = await create_running(services, "postgres", "pgfull")
        await sql(services, database_id, BIG.format(rows=50_000))
        backup = await back_up(services, database_id)
        assert (backup.status, backup.failed_step) == ("failed", "store"), backup.failure
        assert "no space" in backup.failure.lower()
        assert await local_objects(services) == []
        assert files(tiny_disk) == []  # no partial left either
        assert await counts(services, database_id) == {"public.t": 50_000}


async def test_a_database_stopped_mid_dump_fails_the_backup_at_dump(
    services: Services,
) -> None:
    database_id = await create_running(services, "postgres", "pgstopped")
    await sql(services, database_id, BIG.format(rows=1_000_000))
    backup_id, _ = await services.backups.back_up(
        SYSTEM,
        BackUpDatabase(database_id=database_id, target="local"),
    )
    with anyio.fail_after(120):  # mid-dump: pg_dump is running in the database's container
        while "pg_dump" not in await _processes(container_name(database_id)):  # noqa: ASYNC110
            await anyio.sleep(0.05)
    runtime = services.engine.runtime
    assert runtime is not None
    # at once: PostgreSQL's SIGTERM is a smart shutdown that lets a running pg_dump finish
    await runtime.stop_container(container_name(database_id), timeout_s=0)
    backup = await _finished(services, backup_id)
    assert (backup.status, backup.failed_step) == ("failed", "dump"), backup.failure
    assert await local_objects(services) == []
    assert files(services.settings.backups_path) == []  # the partial upload was discarded
    await anyio.run_process([DOCKER, "start", container_name(database_id)])
    await wait_healthy(runtime, container_name(database_id), services.clock, 120)
    assert await counts(services, database_id) == {"public.t": 1_000_000}


async def _processes(container: str) -> str:
    return (await anyio.run_process([DOCKER, "top", container], check=False)).stdout.decode()


async def _finished(services: Services, backup_id: str) -> Any:
    return await until(
        services,
        lambda: services.read.databases.backup(backup_id),
        lambda v: v.status in ("verified", "failed"),
    )


async def test_a_corrupt_encrypted_backup_on_s3_is_refused_and_the_live_data_kept(
    services: Services,
    s3: S3Server,  # noqa: F811
) -> None:
    await s3_target(services, s3, "sealed", "backups", "correct horse battery staple")
    database_id = await create_running(services, "postgres", "pgsealed")
    await sql(services, database_id, "CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2);")
    backup = await back_up(services, database_id, "sealed")
    assert backup.status == "verified", backup.failure
    client = s3.boto3()
    stored = bytearray(client.get_object(Bucket="backups", Key=backup.key)["Body"].read())  # type: ignore[attr-defined]
    stored[len(stored) // 2] ^= 0xFF  # one flipped byte inside the sealed stream
    client.put_object(Bucket="backups", Key=backup.key, Body=bytes(stored))  # type: ignore[attr-defined]
    await sql(services, database_id, "INSERT INTO t VALUES (3);")
    done = await restored(services, backup.backup_id)
    assert done.status == "failed"
    assert "not what was stored" in done.failure
    assert "the live data was not touched" in done.failure
    assert await counts(services, database_id) == {"public.t": 3}


async def test_a_backup_of_another_kind_is_refused(services: Services) -> None:
    postgres = await create_running(services, "postgres", "pgkind")
    await sql(services, postgres, "CREATE TABLE t (n int); INSERT INTO t VALUES (1);")
    redis = await create_running(services, "redis", "rediskind")
    await sql(services, redis, "SET key value")
    rdb = await back_up(services, redis)
    assert rdb.status == "verified", rdb.failure
    with pytest.raises(InvalidCommand, match="a backup is restored into a database of its own"):
        await services.backups.restore(
            SYSTEM, RestoreBackup(backup_id=rdb.backup_id, into=postgres)
        )
    # The recorded sha256 makes bytes swapped on the target unrestorable before their kind is
    # read; what reaches the kind check is a backup recorded as postgres whose stored bytes
    # (sha256 and all) are another kind's: a file put on the target by hand, recorded so.
    pg_id, _ = await services.backups.back_up(
        SYSTEM, BackUpDatabase(database_id=postgres, verify=False)
    )
    pg = await until(
        services,
        lambda: services.read.databases.backup(pg_id),
        lambda v: v.status in ("read_back", "failed"),
    )
    assert pg.status == "read_back", pg.failure
    root = services.settings.backups_path / "default" / "local"
    data = (root / rdb.key).read_bytes()
    forged = uuid.uuid4().hex[:12]
    request = (await services.database_reactors.backups.state(pg.backup_id)).request
    assert request is not None
    key = pg.key.replace(pg.backup_id, forged)
    (root / key).write_bytes(data)
    await services.store.append(
        backups.backup_stream(forged),
        None,
        [
            msgspec.structs.replace(request, backup_id=forged),
            BackupStored(
                backup_id=forged,
                key=key,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                counts=pg.counts,
            ),
            BackupReadBack(
                backup_id=forged, size=len(data), sha256=hashlib.sha256(data).hexdigest()
            ),
        ],
        EventMeta(actor="test", source="system", team="default", resource=postgres),
    )
    await sql(services, postgres, "INSERT INTO t VALUES (2);")
    done = await restored(services, forged)
    assert done.status == "failed"
    assert "holds redis data, not a postgres dump" in done.failure, done.failure
    assert "the live data was not touched" in done.failure
    assert await counts(services, postgres) == {"public.t": 2}


async def test_retention_keeps_the_last_verified_backup_when_later_ones_fail(
    services: Services,
) -> None:
    await services.backups.set_target(SYSTEM, SetBackupTarget(name="kept", keep_last=1))
    database_id = await create_running(services, "postgres", "pgkept")
    await sql(services, database_id, "CREATE TABLE t (n int); INSERT INTO t VALUES (1);")
    good = await back_up(services, database_id, "kept")
    assert good.status == "verified", good.failure
    runtime = services.engine.runtime
    assert runtime is not None
    # at once: PostgreSQL's SIGTERM is a smart shutdown that lets a running pg_dump finish
    await runtime.stop_container(container_name(database_id), timeout_s=0)
    for _ in range(2):
        bad = await back_up(services, database_id, "kept")
        assert (bad.status, bad.failed_step) == ("failed", "dump"), bad.failure
    kept = await services.read.databases.backup(good.backup_id)
    assert (kept.status, kept.deleted) == ("verified", False)
    assert await local_objects(services, "kept") == [good.key]
