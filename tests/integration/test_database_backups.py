"""Managed databases end to end on the real engine, through the services and their reactors:
a PostgreSQL, MariaDB or Redis server (the test images stand in for the official ones through
the instance's image map) is started healthy on its volume and its environment's network; a
backup streams to the local target and to S3 (moto), is read back and verified by restoring it
into a throwaway copy; a restore puts it back after the data changed; a corrupt backup is
refused before the live data is touched; a password rotation is set on the server. The tests
marked `on_both_engines` run on Podman too (its images copied from Docker's)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from rivetr.adapters.runtime.base import ContainerSpec
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain import databases
from rivetr.domain.access import SYSTEM
from rivetr.domain.database_commands import (
    BackUpDatabase,
    CreateDatabase,
    DeleteDatabase,
    RequestDatabaseAction,
    RestoreBackup,
    RotateDatabasePassword,
    S3Input,
    SetBackupTarget,
)
from rivetr.domain.database_events import DatabaseFailed, DatabasePasswordRotated, DatabaseRunning
from rivetr.domain.database_kinds import KINDS
from rivetr.service.reactors.database_containers import (
    container_name,
    credentials,
    network_name,
    volume_name,
)
from tests.database_images import MARIADB, POSTGRES, REDIS
from tests.engine import connect_real_engine
from tests.integration.database_servers import (
    DOCKER,
    PODMAN,
    RealEngine,
    images_in,
    on_both_engines,
)
from tests.s3server import S3Server, moto_s3_server

pytestmark = [pytest.mark.anyio]

IMAGES = {
    "postgres:16-alpine": POSTGRES.tag,
    "mariadb:11": MARIADB.tag,
    "redis:7-alpine": REDIS.tag,
}
SEED = {
    "postgres": "CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 500);",
    "mariadb": "CREATE TABLE t (n int); INSERT INTO t VALUES (1),(2),(3),(4),(5);",
}
MORE = {
    "postgres": "INSERT INTO t VALUES (9999); CREATE TABLE extra (n int);",
    "mariadb": "INSERT INTO t VALUES (9999);",
}


_REACHED: set[RealEngine] = set()  # the engines found answering in this session


@pytest.fixture(params=[DOCKER])
def engine(request: pytest.FixtureRequest) -> RealEngine:
    """Docker, unless a test runs `on_both_engines`."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def built(engine: RealEngine, request: pytest.FixtureRequest) -> None:
    # Podman's slice runs no MariaDB: copying it over would cost time for nothing
    images = (POSTGRES, MARIADB, REDIS) if engine == "docker" else (POSTGRES, REDIS)
    images_in(engine, request, *images)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        server.boto3().create_bucket(Bucket="backups")  # type: ignore[attr-defined]
        yield server


@contextlib.asynccontextmanager
async def services_with(
    tmp_path: Path, images: dict[str, str], engine: RealEngine = "docker"
) -> AsyncIterator[Services]:
    """The whole service on the real engine, its reactors running, `images` standing in for
    the official ones; its databases are removed on the way out."""
    async with opened(tmp_path, engine, database_images=images) as running:
        yield running


@asynccontextmanager
async def opened(
    tmp_path: Path, engine: RealEngine = "docker", **settings: Any
) -> AsyncIterator[Services]:
    """Rivetr's services on the real `engine`, running, with the test images (or the
    `database_images` given); every database they made removed after."""
    if engine not in _REACHED:  # else a skip (a failure in CI); asked once: Podman takes seconds
        runtime = await connect_real_engine(engine)
        await runtime.close()
        _REACHED.add(engine)
    services = await Services.open(
        Settings(
            **{
                "data_dir": str(tmp_path / "data"),
                "engine": engine,
                "poll_interval_s": 0.2,
                "proxy_enabled": False,
                "acme_auto": False,
                "database_images": IMAGES,
                "database_health_timeout_s": 120,
                "resources_interval_s": 0,
                **settings,
            }
        )
    )
    try:
        async with services.background():
            with anyio.fail_after(20):
                await services.engine.ready.wait()
            yield services
            await remove_databases(services)
    finally:
        await services.close()


@pytest.fixture
async def services(tmp_path: Path, engine: RealEngine, built: None) -> AsyncIterator[Services]:
    async with services_with(tmp_path, IMAGES, engine) as opened:
        yield opened


async def remove_databases(services: Services) -> None:
    ids = [view.database_id for view in await services.read.databases.every()]
    for view in await services.read.databases.every():
        await services.databases.run(
            SYSTEM, DeleteDatabase(database_id=view.database_id, keep_volume=False)
        )
    runtime = services.engine.runtime
    assert runtime is not None
    for view in ids:
        with anyio.fail_after(60):
            while await runtime.list_containers({"rivetr.database": view}):  # noqa: ASYNC110
                await anyio.sleep(0.3)
            # the keeper drops the volume after the container: closing first would leave it
            while await runtime.volume_exists(volume_name(view)):  # noqa: ASYNC110
                await anyio.sleep(0.3)
    for database_id in ids:  # only this test's: another run may be verifying its own
        for container in await runtime.list_containers(
            {"rivetr.throwaway": "true", "rivetr.database": database_id}
        ):
            await runtime.remove_container(container.id, force=True)


async def until(services: Services, read: Any, done: Any, timeout_s: float = 180) -> Any:
    with anyio.fail_after(timeout_s):
        while True:
            await services.runner.wait_until(await services.store.head())
            view = await read()
            if done(view):
                return view
            await anyio.sleep(0.3)


async def create_running(services: Services, kind: str, name: str) -> str:
    database_id, _ = await services.databases.create(
        SYSTEM,
        CreateDatabase(name=name, kind=kind),  # type: ignore[arg-type]
    )
    view = await until(
        services,
        lambda: services.read.databases.one(database_id),
        lambda v: v.status in ("running", "failed"),
    )
    assert view.status == "running", view.failure
    return database_id


async def sql(services: Services, database_id: str, text: str) -> None:
    state = await services.database_keeper.state(database_id)
    creds = credentials(services.secrets, state)
    runtime = services.engine.runtime
    assert runtime is not None
    if state.kind == "postgres":
        argv = ["psql", "-h", "127.0.0.1", "-U", creds.user, "-d", creds.database, "-c", text]
        env = {"PGPASSWORD": creds.password}
    elif state.kind == "redis":
        argv = ["redis-cli", "-h", "127.0.0.1", *text.split()]
        env = {"REDISCLI_AUTH": creds.password}
    else:
        argv = ["mariadb", "-h", "127.0.0.1", "-u", creds.user, creds.database, "-e", text]
        env = {"MYSQL_PWD": creds.password}
    result = await runtime.exec_run(container_name(database_id), argv, env=env)
    assert result.exit_code == 0, result.stderr_tail


async def back_up(services: Services, database_id: str, target: str = "local") -> Any:
    backup_id, _ = await services.backups.back_up(
        SYSTEM, BackUpDatabase(database_id=database_id, target=target)
    )
    return await until(
        services,
        lambda: services.read.databases.backup(backup_id),
        lambda v: v.status in ("verified", "failed"),
    )


async def restored(services: Services, backup_id: str, into: str | None = None) -> Any:
    plan = await services.backups.restore(SYSTEM, RestoreBackup(backup_id=backup_id, into=into))
    return await until(
        services,
        lambda: services.read.databases.restore(plan.restore_id),
        lambda v: v.status in ("completed", "failed"),
    )


@pytest.mark.parametrize(
    ("engine", "kind"),
    [
        pytest.param("docker", "postgres", marks=DOCKER.marks),
        pytest.param("docker", "mariadb", marks=DOCKER.marks),
        pytest.param("podman", "postgres", marks=PODMAN.marks),
    ],
)
async def test_a_sql_backup_is_verified_by_restoring_it_and_restores_over_changed_data(
    services: Services, kind: str
) -> None:
    database_id = await create_running(services, kind, f"db{uuid.uuid4().hex[:6]}")
    await sql(services, database_id, SEED[kind])
    backup = await back_up(services, database_id)
    assert backup.status == "verified", backup.failure
    assert backup.counts == {
        ("public.t" if kind == "postgres" else "t"): 500 if kind == "postgres" else 5
    }
    assert (services.settings.backups_path / "default" / "local" / backup.key).is_file()
    await sql(services, database_id, MORE[kind])
    done = await restored(services, backup.backup_id)
    assert done.status == "completed", done.failure
    safety = await services.read.databases.backup(
        (await services.read.databases.restore(done.restore_id)).safety_backup_id
    )
    assert safety.reason == "before_restore"
    assert safety.status in ("read_back", "verified")
    view = await services.read.databases.one(database_id)
    assert view.last_verified_backup_id is not None


@on_both_engines
async def test_redis_is_restored_from_its_rdb_before_the_server_starts(services: Services) -> None:
    database_id = await create_running(services, "redis", "cache")
    for n in range(50):
        await sql(services, database_id, f"SET key{n} {n}")
    backup = await back_up(services, database_id)
    assert backup.status == "verified", backup.failure
    assert backup.counts == {"keys": 50}
    await sql(services, database_id, "FLUSHALL")
    done = await restored(services, backup.backup_id)
    assert done.status == "completed", done.failure
    assert done.counts == {"keys": 50}


async def test_a_backup_to_s3_is_encrypted_read_back_and_verified(
    services: Services, s3: S3Server
) -> None:
    await services.backups.set_target(
        SYSTEM,
        SetBackupTarget(
            name="offsite",
            s3=S3Input(
                endpoint=s3.endpoint,
                bucket="backups",
                access_key=s3.access_key,
                secret_key=s3.secret_key,
                path_style=True,
            ),
            encryption_passphrase="correct horse battery staple",
        ),
    )
    database_id = await create_running(services, "postgres", "pgs3")
    await sql(services, database_id, SEED["postgres"])
    backup = await back_up(services, database_id, "offsite")
    assert backup.status == "verified", backup.failure
    assert backup.encrypted
    stored = s3.boto3().get_object(Bucket="backups", Key=backup.key)["Body"].read()  # type: ignore[attr-defined]
    assert not stored.startswith(b"PGDMP")  # encrypted at rest
    assert len(stored) == backup.size


async def wrong_target(services: Services, s3: S3Server) -> None:
    """A target named `wrong` that refuses every object: its secret key is not the server's."""
    await services.backups.set_target(
        SYSTEM,
        SetBackupTarget(
            name="wrong",
            s3=S3Input(
                endpoint=s3.endpoint,
                bucket="backups",
                access_key=s3.access_key,
                secret_key="not-the-secret",
                path_style=True,
            ),
        ),
    )


async def test_wrong_s3_credentials_fail_the_backup_with_the_cause(
    services: Services, s3: S3Server
) -> None:
    await wrong_target(services, s3)
    database_id = await create_running(services, "postgres", "pgwrong")
    backup = await back_up(services, database_id, "wrong")
    assert (backup.status, backup.failed_step) == ("failed", "store")
    assert "secret" in backup.failure.lower() or "signature" in backup.failure.lower()
    assert (await services.read.databases.one(database_id)).last_verified_backup_id is None


async def test_a_corrupt_backup_is_refused_before_the_live_data_is_touched(
    services: Services,
) -> None:
    database_id = await create_running(services, "postgres", "pgcorrupt")
    await sql(services, database_id, SEED["postgres"])
    backup = await back_up(services, database_id)
    stored = services.settings.backups_path / "default" / "local" / backup.key
    stored.write_bytes(stored.read_bytes()[: backup.size // 2])
    await sql(services, database_id, "INSERT INTO t VALUES (0);")
    done = await restored(services, backup.backup_id)
    assert done.status == "failed"
    assert "not what was stored" in done.failure
    assert "the live data was not touched" in done.failure
    kind = KINDS["postgres"]
    state = await services.database_keeper.state(database_id)
    runtime = services.engine.runtime
    assert runtime is not None
    check = kind.check(credentials(services.secrets, state))
    result = await runtime.exec_run(
        container_name(database_id), list(check.argv), env=dict(check.env)
    )
    assert kind.parse_check(result.stdout_tail) == {"public.t": 501}


@on_both_engines
@pytest.mark.parametrize("kind", ["postgres", "redis"])
async def test_a_database_is_stopped_started_given_a_new_password_and_deleted(
    services: Services, kind: str
) -> None:
    database_id = await create_running(services, kind, f"life{uuid.uuid4().hex[:6]}")
    runtime = services.engine.runtime
    assert runtime is not None
    ping = "SELECT 1;" if kind == "postgres" else "PING"

    async def asked(action: str, status: str) -> None:
        await services.databases.run(
            SYSTEM,
            RequestDatabaseAction(database_id=database_id, action=action),  # type: ignore[arg-type]
        )
        view = await until(
            services,
            lambda: services.read.databases.one(database_id),
            lambda v: v.status in (status, "failed"),
        )
        assert view.status == status, view.failure

    await asked("stop", "stopped")
    info = await runtime.inspect_container(container_name(database_id))
    assert info is not None
    assert info.state == "exited"
    await asked("start", "running")
    await sql(services, database_id, ping)

    await services.databases.run(SYSTEM, RotateDatabasePassword(database_id=database_id))
    # where the password is read at start (Redis) the container is made anew after it is set
    then: tuple[type, ...] = (DatabasePasswordRotated,)
    if KINDS[kind].password_read_at_start:
        then += (DatabaseRunning,)
    last = await until(
        services,
        lambda: services.store.read_stream(databases.stream_id(database_id)),
        lambda history: (
            tuple(type(e.event) for e in history[-len(then) :]) == then
            or isinstance(history[-1].event, DatabaseFailed)
        ),
    )
    assert not isinstance(last[-1].event, DatabaseFailed), last[-1].event
    await sql(services, database_id, ping)  # with the new password

    await services.databases.run(SYSTEM, DeleteDatabase(database_id=database_id, keep_volume=False))
    with anyio.fail_after(60):
        while await runtime.list_volumes({"rivetr.database": database_id}):  # noqa: ASYNC110
            await anyio.sleep(0.3)
    assert await runtime.inspect_container(container_name(database_id)) is None
    assert volume_name(database_id) not in [v.name for v in await runtime.list_volumes({})]


@on_both_engines
async def test_the_environments_containers_reach_a_database_by_its_name(
    services: Services,
) -> None:
    database_id = await create_running(services, "postgres", "pgnet")
    logs = await services.database_reads.logs(SYSTEM, database_id, 50)
    assert "ready to accept connections" in logs.output
    runtime = services.engine.runtime
    assert runtime is not None
    await ensure_busybox_image(runtime)
    state = await services.database_keeper.state(database_id)
    name = f"rivetr-test-{uuid.uuid4().hex[:8]}"
    await runtime.run_container(
        ContainerSpec(
            name=name,
            image=BUSYBOX_IMAGE,
            command=["sh", "-c", "echo | nc -w 5 pgnet 5432 && echo reached; sleep 30"],
            network=network_name(state.team, state.project, state.environment),
            restart_policy="no",
        )
    )
    try:
        with anyio.fail_after(20):
            while "reached" not in await runtime.container_logs(name):  # noqa: ASYNC110
                await anyio.sleep(0.3)
    finally:
        await runtime.remove_container(name, force=True)
