"""Data directories written by earlier Rivetrs (tests/fixtures/v2, v3, v4) under today's
`rivetr serve` on the real engine: the app of each, found in its team's default project in
production, deploys again with the env values and credentials it sealed then."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, run_cli
from tests.integration.deploy_helpers import AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.integration]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DOCKER = "/usr/bin/docker"


@pytest.mark.parametrize("version", ["v2", "v3", "v4"])
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
    assert run_cli(data, "images", "import-busybox", env=env).returncode == 0
    token = run_cli(data, "tokens", "create", "--name", "upgrade", env=env).stdout.strip()
    server = server_factory(data, env).start()
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=auth, timeout=30) as api:
        # made before there were projects: where every older app now lives
        shown = api.get("/apps/web").json()
        assert (shown["project"], shown["environment"]) == ("default", "production")
        # the repository it was deployed from then is gone with the machine that wrote it
        moved = api.patch("/apps/web", json={"git_url": str(repo.path)})
        assert moved.status_code == 200, moved.text
        asked = api.post("/apps/web/deployments", json={})
        assert asked.status_code == 202, asked.text
        deployment_id = asked.json()["deployment_id"]
        detail = {}
        for _ in range(300):
            detail = api.get(f"/deployments/{deployment_id}").json()
            if detail["deployment"]["status"] in ("live", "failed", "rolled_back"):
                break
            time.sleep(0.2)
        assert detail["deployment"]["status"] == "live", detail
        container = detail["deployment"]["container_name"]
        try:
            printed = subprocess.run(
                [DOCKER, "exec", container, "env"], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            printed = [line for line in printed if line.startswith(("DATABASE_URL=", "FEATURE="))]
            # sealed by the older Rivetr, opened by this one
            assert sorted(printed) == ["DATABASE_URL=postgres://secret@db/web", "FEATURE=on"]
            served = httpx.get(f"http://127.0.0.1:{detail['deployment']['host_port']}/", timeout=5)
            assert served.text == "deployed again"
        finally:
            server.stop()
            subprocess.run([DOCKER, "rm", "-f", container], capture_output=True)
