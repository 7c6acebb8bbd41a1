"""Data directories written by earlier Rivetrs (tests/fixtures/v2 to v5) under today's
`rivetr serve` on the real engine: the app of each, found in its team's default project in
production, deploys again with the env values and credentials it sealed then. The managed
databases of v5 start again on this machine (on new volumes: the old ones are gone with the
machine that wrote them) with the password rotated then, and its app reaches one by reference."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.database_images import MARIADB, POSTGRES, REDIS, ensure_image
from tests.e2e.conftest import Server, run_cli
from tests.integration.database_servers import connect_docker
from tests.integration.deploy_helpers import AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.integration]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DOCKER = "/usr/bin/docker"
WITH_DATABASES = {"v5"}
# the images the databases of v5 name, and the test images that stand in for them here
TEST_IMAGES = {"postgres:16-alpine": POSTGRES, "redis:7-alpine": REDIS, "mariadb:11": MARIADB}


def database_images() -> str:
    """RIVETR_DATABASE_IMAGES for the test images (built once, then the engine's cache)."""
    client = connect_docker()
    return ",".join(f"{name}={ensure_image(client, image)}" for name, image in TEST_IMAGES.items())


def deployed(api: httpx.Client, name: str) -> dict[str, Any]:
    asked = api.post(f"/apps/{name}/deployments", json={})
    assert asked.status_code == 202, asked.text
    deployment_id = asked.json()["deployment_id"]
    detail: dict[str, Any] = {}
    for _ in range(300):
        detail = api.get(f"/deployments/{deployment_id}").json()
        if detail["deployment"]["status"] in ("live", "failed", "rolled_back", "cancelled"):
            break
        time.sleep(0.2)
    return detail


def printed_env(container: str, *names: str) -> list[str]:
    printed = subprocess.run(
        [DOCKER, "exec", container, "env"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return sorted(line for line in printed if line.startswith(tuple(f"{n}=" for n in names)))


def the_database_starts_again_and_its_app_reaches_it(
    api: httpx.Client, repo: AppRepo, containers: list[str]
) -> None:
    """v5's `pg` (its password rotated then) is started again by the database keeper on open;
    `api`, whose DATABASE_URL is `${{pg.URL}}`, deploys with the password that opens it."""
    pg = next(d for d in api.get("/databases").json() if d["name"] == "pg")
    # the log says it ran then; what the keeper does now, the engine says
    health = ""
    for _ in range(900):
        health = subprocess.run(
            [DOCKER, "inspect", "-f", "{{.State.Health.Status}}", pg["container"]],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if health == "healthy":
            break
        time.sleep(0.2)
    assert health == "healthy", api.get(f"/databases/{pg['database_id']}").json()
    assert api.patch("/apps/api", json={"git_url": str(repo.path)}).status_code == 200
    detail = deployed(api, "api")
    assert detail["deployment"]["status"] == "live", detail
    containers.append(detail["deployment"]["container_name"])
    [url] = printed_env(containers[-1], "DATABASE_URL")
    answered = subprocess.run(
        [
            DOCKER,
            "exec",
            pg["container"],
            "psql",
            url.removeprefix("DATABASE_URL="),
            "-tAc",
            "select 42",
        ],
        capture_output=True,
        text=True,
    )
    assert (answered.returncode, answered.stdout.strip()) == (0, "42"), answered.stderr


def remove_databases(data: Path) -> None:
    """The containers, volumes and networks the databases of a fixture got on this machine."""
    with closing(sqlite3.connect(data / "events.db")) as log:
        made = log.execute("SELECT resource FROM events WHERE type = 'database.created'")
        ids = [database_id for (database_id,) in made]
    for database_id in ids:
        label = f"label=rivetr.database={database_id}"
        found = subprocess.run(
            [DOCKER, "ps", "-aq", "--filter", label], capture_output=True, text=True
        ).stdout.split()
        subprocess.run([DOCKER, "rm", "-f", *found], capture_output=True)
        volumes = subprocess.run(
            [DOCKER, "volume", "ls", "-q", "--filter", label], capture_output=True, text=True
        ).stdout.split()
        subprocess.run([DOCKER, "volume", "rm", *volumes], capture_output=True)
    for network in ("rivetr.acme.shop.production", "rivetr.acme.shop.staging"):
        subprocess.run([DOCKER, "network", "rm", network], capture_output=True)


@pytest.mark.parametrize("version", ["v2", "v3", "v4", "v5"])
def test_an_app_of_an_older_log_deploys_again_with_the_secrets_it_sealed_then(
    version: str, tmp_path: Path, server_factory: type[Server]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / version, data, ignore=shutil.ignore_patterns("answers.json"))
    key = (data / "secrets.key").read_text().strip()
    repo = AppRepo(tmp_path / "repo")
    repo.commit("deployed again")
    env = {
        "RIVETR_SECRET_KEY": key,
        "RIVETR_ENGINE": "docker",
        "RIVETR_GIT_LOCAL_DIRS": str(tmp_path),
        "RIVETR_DRAIN_S": "0.5",
    }
    if version in WITH_DATABASES:
        env["RIVETR_DATABASE_IMAGES"] = database_images()
    assert run_cli(data, "images", "import-busybox", env=env).returncode == 0
    token = run_cli(data, "tokens", "create", "--name", "upgrade", env=env).stdout.strip()
    server = server_factory(data, env).start()
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=auth, timeout=30) as api:
        # made before there were projects (v5's in the default team's default project): where
        # every older app now lives
        shown = api.get("/apps/web").json()
        assert (shown["project"], shown["environment"]) == ("default", "production")
        # the repository it was deployed from then is gone with the machine that wrote it
        moved = api.patch("/apps/web", json={"git_url": str(repo.path)})
        assert moved.status_code == 200, moved.text
        containers: list[str] = []
        try:
            detail = deployed(api, "web")
            assert detail["deployment"]["status"] == "live", detail
            containers.append(detail["deployment"]["container_name"])
            printed = printed_env(containers[0], "DATABASE_URL", "FEATURE")
            # sealed by the older Rivetr, opened by this one
            assert printed == ["DATABASE_URL=postgres://secret@db/web", "FEATURE=on"]
            served = httpx.get(f"http://127.0.0.1:{detail['deployment']['host_port']}/", timeout=5)
            assert served.text == "deployed again"
            if version in WITH_DATABASES:
                the_database_starts_again_and_its_app_reaches_it(api, repo, containers)
        finally:
            server.stop()
            subprocess.run([DOCKER, "rm", "-f", *containers], capture_output=True)
            if version in WITH_DATABASES:
                remove_databases(data)
