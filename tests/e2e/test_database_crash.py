"""Kill -9 `rivetr serve` mid-backup (while it dumps, then while it verifies in a throwaway
copy) and mid-restore, start it again on the same data directory, and check what the issue
promises: the backup is failed with the cause, no object is counted as a backup, the
throwaway copies are gone, and the restore is failed naming the safety backup, which can be
restored. Real engine, real `rivetr serve`, one seeded database."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from rivetr.adapters.backup_targets.base import is_own_key
from rivetr.service.reactors.database_containers import container_name, volume_name
from tests.database_images import POSTGRES, ensure_image
from tests.e2e.conftest import Server, run_cli
from tests.integration.database_servers import connect_docker

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]

DOCKER = "/usr/bin/docker"
STOPPED = "Rivetr stopped before the"
SEED = (
    "CREATE TABLE t (n int, s text); INSERT INTO t"
    " SELECT n, md5(random()::text) || md5(random()::text) FROM generate_series(1, 1000000) n;"
)


class Rivetr:
    def __init__(self, tmp_path: Path, factory: type[Server]) -> None:
        self.data = tmp_path / "data"
        self.factory = factory
        self.env = {
            "RIVETR_DATABASE_IMAGES": f"postgres:16-alpine={POSTGRES.tag}",
            "RIVETR_DATABASE_HEALTH_TIMEOUT_S": "120",
        }
        self.token = run_cli(self.data, "tokens", "create", "--name", "crash").stdout.strip()
        self.server = factory(self.data, self.env).start()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.server.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def until(self, path: str, done: Callable[[Any], bool], timeout: float = 180) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = self.call("GET", path)
            if done(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def crash_and_restart(self) -> None:
        self.server.stop(kill=True)
        self.server = self.factory(self.data, self.env).start()

    def objects(self) -> list[str]:
        """What the local target holds as backups (partial uploads are not)."""
        root = self.data / "backups" / "default" / "local"
        keys = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        return [key for key in keys if not is_own_key(key)]

    def partials(self) -> list[Path]:
        return list((self.data / "backups").rglob("*.partial"))


def docker(*argv: str) -> str:
    return subprocess.run([DOCKER, *argv], check=True, capture_output=True, text=True).stdout


def wait_for(found: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def throwaways(database_id: str) -> list[str]:
    """The database's throwaway copies, containers and volumes (other tests run their own)."""
    labels = [
        "--filter",
        "label=rivetr.throwaway=true",
        "--filter",
        f"label=rivetr.database={database_id}",
    ]
    containers = docker("ps", "-aq", *labels).split()
    return containers + docker("volume", "ls", "-q", *labels).split()


def test_killed_mid_backup_and_mid_restore_nothing_half_done_counts(
    tmp_path: Path, server_factory: type[Server]
) -> None:
    ensure_image(connect_docker(), POSTGRES)
    rivetr = Rivetr(tmp_path, server_factory)
    database = rivetr.call("POST", "/databases", json={"name": "pgcrash", "kind": "postgres"})
    database_id = database["database_id"]
    container = container_name(database_id)
    try:
        view = rivetr.until(f"/databases/{database_id}", lambda v: v["status"] != "starting")
        assert view["status"] == "running", view
        docker(
            "exec", container, "sh", "-c",
            'PGPASSWORD="$POSTGRES_PASSWORD" psql -q -h 127.0.0.1 -U "$POSTGRES_USER"'
            f' -d "$POSTGRES_DB" -c "{SEED}"',
        )  # fmt: skip

        # 1. killed while pg_dump streams
        dumped = rivetr.call("POST", f"/databases/{database_id}/backups", json={})["backup_id"]
        wait_for(lambda: "pg_dump" in docker("top", container))
        rivetr.crash_and_restart()
        backup = rivetr.call("GET", f"/backups/{dumped}")
        assert (backup["status"], backup["failed_step"]) == ("failed", "dump"), backup
        assert STOPPED + " backup was finished" in backup["failure"]
        assert rivetr.objects() == []
        assert rivetr.partials() == []  # what the dump was written to, removed at the start

        # 2. killed while the backup is restored into its throwaway copy
        verified = rivetr.call("POST", f"/databases/{database_id}/backups", json={})["backup_id"]
        wait_for(lambda: bool(throwaways(database_id)))
        rivetr.crash_and_restart()
        backup = rivetr.call("GET", f"/backups/{verified}")
        assert (backup["status"], backup["failed_step"]) == ("failed", "restore"), backup
        assert STOPPED + " backup was finished" in backup["failure"]
        wait_for(lambda: not throwaways(database_id), timeout=30)  # once the engine answers
        assert rivetr.call("GET", f"/databases/{database_id}")["last_verified_backup_id"] is None

        # 3. killed while a backup is put back into the live database
        stored = rivetr.call("POST", f"/databases/{database_id}/backups", json={"verify": False})[
            "backup_id"
        ]
        rivetr.until(f"/backups/{stored}", lambda b: b["status"] in ("read_back", "failed"))
        plan = rivetr.call("POST", f"/backups/{stored}/restore", json={})
        wait_for(lambda: "pg_restore" in docker("top", container))
        rivetr.crash_and_restart()
        restore = rivetr.call("GET", f"/restores/{plan['restore_id']}")
        assert restore["status"] == "failed", restore
        assert STOPPED + " restore was finished" in restore["failure"]
        assert f"backup {plan['safety_backup_id']} holds the data" in restore["failure"]
        # the safety backup it names can be restored
        rivetr.call("POST", f"/backups/{plan['safety_backup_id']}/restore", json={"dry_run": True})
        wait_for(lambda: not throwaways(database_id), timeout=30)
    finally:
        rivetr.call("DELETE", f"/databases/{database_id}?keep_volume=false")
        rivetr.server.stop(kill=True)
        # killed at once, the service may not have got to its container and volume: a
        # PostgreSQL left running (its health check every few seconds) slows the rest of CI
        subprocess.run([DOCKER, "rm", "-f", container], capture_output=True)
        for leftover in [*throwaways(database_id), volume_name(database_id)]:
            subprocess.run([DOCKER, "rm", "-f", leftover], capture_output=True)
            subprocess.run([DOCKER, "volume", "rm", "-f", leftover], capture_output=True)
