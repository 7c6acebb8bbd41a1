"""A PostgreSQL backup through Rivetr against a plain `pg_dump -Fc > file`, in the same run.

Opens the services in this process on a fresh data directory (the real Docker engine, the test
images through `database_images`, moto for S3), creates a PostgreSQL database, seeds it
server-side to about `--size-mb`, then times: a plain `docker exec … pg_dump -Fc > file`; the
dump stream alone (`exec_output` read to its end); a Rivetr backup to the local target and to S3
with verify off (request to `read_back`); one with verify on (`BackupVerified.seconds`). A thread
samples this process's RSS every 50 ms during each backup.

    python benchmarks/database_backup.py
    python benchmarks/database_backup.py --size-mb 256
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain import backups
from rivetr.domain.access import SYSTEM
from rivetr.domain.database_commands import (
    BackUpDatabase,
    CreateDatabase,
    DeleteDatabase,
    S3Input,
    SetBackupTarget,
)
from rivetr.domain.database_kinds import KINDS
from rivetr.service.reactors.database_containers import container_name, credentials
from tests.database_images import POSTGRES, ensure_image
from tests.integration.database_servers import connect_docker
from tests.s3server import S3Server, moto_s3_server

ROW_BYTES = 300  # what one seeded row takes in the table, roughly (8 md5s of text)


def _status(field: str) -> float:
    """A field of /proc/self/status, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


class RssSampler:
    """Samples VmRSS every 50 ms in a thread (the services run in this process), after
    resetting VmHWM, so both peaks belong to the backup alone."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.idle = _status("VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.hwm = _status("VmHWM")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _status("VmRSS"))
            self._stop.wait(0.05)


async def _until_running(services: Services, database_id: str) -> None:
    with anyio.fail_after(300):
        while True:
            await services.runner.wait_until(await services.store.head())
            view = await services.read.databases.one(database_id)
            if view is None:
                raise RuntimeError("the database was not created")
            if view.status == "failed":
                raise RuntimeError(f"the database failed: {view.failure}")
            if view.status == "running":
                return
            await anyio.sleep(0.2)


async def _psql(services: Services, database_id: str, text: str) -> str:
    state = await services.database_keeper.state(database_id)
    creds = credentials(services.secrets, state)
    runtime = services.engine.runtime
    assert runtime is not None
    argv = ["psql", "-h", "127.0.0.1", "-U", creds.user, "-d", creds.database, "-tAc", text]
    # Ten minutes, not the default minute: a batch of the seed under a loaded machine's load
    # took longer than a minute.
    result = await runtime.exec_run(
        container_name(database_id), argv, env={"PGPASSWORD": creds.password}, timeout_s=600
    )
    if result.exit_code != 0:
        raise RuntimeError(result.stderr_tail)
    return bytes(result.stdout_tail).decode().strip()


async def _seed(services: Services, database_id: str, size_mb: int) -> None:
    rows = size_mb * 1_000_000 // ROW_BYTES
    payload = " || ".join(f"md5((g * 8 + {i})::text)" for i in range(8))
    started = time.perf_counter()
    await _psql(services, database_id, "CREATE TABLE big (id bigint, payload text);")
    step = 500_000
    for first in range(1, rows + 1, step):
        last = min(rows, first + step - 1)
        await _psql(
            services,
            database_id,
            f"INSERT INTO big SELECT g, {payload} FROM generate_series({first}, {last}) g;",
        )
    size = int(await _psql(services, database_id, "SELECT pg_database_size(current_database());"))
    print(
        f"seeded {rows:,} rows: database {size / 1e6:,.0f} MB "
        f"in {time.perf_counter() - started:.1f} s"
    )


async def _plain_dump(services: Services, database_id: str, into: Path) -> tuple[float, int]:
    """`docker exec <container> pg_dump -Fc … > file` with the argv Rivetr uses."""
    state = await services.database_keeper.state(database_id)
    dump = KINDS["postgres"].dump(credentials(services.secrets, state))
    env = [f"--env={k}={v}" for k, v in dump.env.items()]
    argv = ["docker", "exec", *env, container_name(database_id), *dump.argv]
    started = time.perf_counter()

    def run() -> int:
        with into.open("wb") as out:
            subprocess.run(argv, stdout=out, check=True)
        return into.stat().st_size

    size = await anyio.to_thread.run_sync(run)
    return time.perf_counter() - started, size


async def _stream_only(services: Services, database_id: str) -> tuple[float, int]:
    """The dump stream alone: `exec_output` read to its end and dropped."""
    state = await services.database_keeper.state(database_id)
    dump = KINDS["postgres"].dump(credentials(services.secrets, state))
    runtime = services.engine.runtime
    assert runtime is not None
    started, got = time.perf_counter(), 0
    async for chunk in runtime.exec_output(
        container_name(database_id), list(dump.argv), env=dict(dump.env)
    ):
        got += len(chunk)
    return time.perf_counter() - started, got


async def _backup(
    services: Services, database_id: str, target: str, verify: bool
) -> dict[str, float]:
    """Request a backup; note when each of its events first shows (polled every 50 ms)."""
    with RssSampler() as rss:
        started = time.perf_counter()
        backup_id, _ = await services.backups.back_up(
            SYSTEM, BackUpDatabase(database_id=database_id, target=target, verify=verify)
        )
        seen: dict[str, float] = {}
        events: dict[str, object] = {}
        with anyio.fail_after(3600):
            while True:
                for recorded in await services.store.read_stream(backups.backup_stream(backup_id)):
                    kind = recorded.type
                    if kind not in seen:
                        seen[kind] = time.perf_counter() - started
                        events[kind] = recorded.event
                if "backup.failed" in seen:
                    raise RuntimeError(f"the backup failed: {events['backup.failed']}")
                if (verify and "backup.verified" in seen) or (
                    not verify and "backup.read_back" in seen
                ):
                    break
                await anyio.sleep(0.05)
    stored = events["backup.stored"]
    figures = {
        "to_read_back": seen["backup.read_back"],
        "stored_seconds": stored.seconds,  # type: ignore[attr-defined]
        "size": stored.size,  # type: ignore[attr-defined]
        "read_back": seen["backup.read_back"] - seen["backup.stored"],
        "idle_mb": rss.idle,
        "peak_mb": rss.peak,
        "hwm_mb": rss.hwm,
    }
    if verify:
        figures["verify_seconds"] = events["backup.verified"].seconds  # type: ignore[attr-defined]
        figures["to_verified"] = seen["backup.verified"]
    return figures


def _row(name: str, f: dict[str, float], plain: float) -> None:
    mb = f["size"] / 1e6
    print(
        f"{name:<22} {f['to_read_back']:7.1f} s to read_back ({plain / f['to_read_back']:.2f} x "
        f"plain); dump+put {f['stored_seconds']:.1f} s ({mb / f['stored_seconds']:.0f} MB/s, "
        f"{plain / f['stored_seconds']:.2f} x plain), read back {f['read_back']:.1f} s; "
        f"RSS idle {f['idle_mb']:.1f} MB, peak {f['peak_mb']:.1f} MB "
        f"(+{f['peak_mb'] - f['idle_mb']:.1f}), VmHWM {f['hwm_mb']:.1f} MB"
    )


async def _run(services: Services, s3: S3Server, scratch: Path, size_mb: int) -> None:
    await services.backups.set_target(
        SYSTEM,
        SetBackupTarget(
            name="s3",
            s3=S3Input(
                endpoint=s3.endpoint,
                bucket="backups",
                access_key=s3.access_key,
                secret_key=s3.secret_key,
                path_style=True,
            ),
        ),
    )
    database_id, _ = await services.databases.create(
        SYSTEM, CreateDatabase(name="bench", kind="postgres")
    )
    try:
        await _until_running(services, database_id)
        await _seed(services, database_id, size_mb)
        plain, size = await _plain_dump(services, database_id, scratch / "plain.dump")
        (scratch / "plain.dump").unlink()
        print(f"plain pg_dump -Fc > file  {plain:7.1f} s, {size / 1e6:,.0f} MB")
        seconds, got = await _stream_only(services, database_id)
        print(
            f"dump stream alone       {seconds:7.1f} s, {got / 1e6:,.0f} MB "
            f"({plain / seconds:.2f} x plain)"
        )
        _row("local, verify off", await _backup(services, database_id, "local", False), plain)
        # the first S3 backup imports the S3 client (minio, urllib3); the second shows the
        # upload alone
        _row("s3 (moto), first", await _backup(services, database_id, "s3", False), plain)
        _row("s3 (moto), second", await _backup(services, database_id, "s3", False), plain)
        verified = await _backup(services, database_id, "local", True)
        _row("local, verify on", verified, plain)
        print(
            f"verification            {verified['verify_seconds']:7.1f} s "
            f"(request to verified {verified['to_verified']:.1f} s)"
        )
    finally:
        await _remove(services, database_id)


async def _remove(services: Services, database_id: str) -> None:
    await services.databases.run(SYSTEM, DeleteDatabase(database_id=database_id, keep_volume=False))
    runtime = services.engine.runtime
    assert runtime is not None
    with anyio.fail_after(120):
        while await runtime.list_containers({"rivetr.database": database_id}):  # noqa: ASYNC110
            await anyio.sleep(0.3)
    for container in await runtime.list_containers({"rivetr.throwaway": "true"}):
        await runtime.remove_container(container.id, force=True)


async def main(size_mb: int) -> None:
    ensure_image(connect_docker(), POSTGRES)
    with tempfile.TemporaryDirectory(prefix="rivetr-bench-backup-") as scratch:
        services = await Services.open(
            Settings(
                data_dir=str(Path(scratch) / "data"),
                engine="docker",
                poll_interval_s=0.2,
                proxy_enabled=False,
                acme_auto=False,
                database_images={"postgres:16-alpine": POSTGRES.tag},
                database_health_timeout_s=300,
                backup_verify_timeout_s=3600,
                resources_interval_s=0,
            )
        )
        try:
            with moto_s3_server() as s3:
                s3.boto3().create_bucket(Bucket="backups")  # type: ignore[attr-defined]
                async with services.background():
                    with anyio.fail_after(30):
                        await services.engine.ready.wait()
                    await _run(services, s3, Path(scratch), size_mb)
        finally:
            await services.close()
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="database size to seed")
    anyio.run(main, parser.parse_args().size_mb)
