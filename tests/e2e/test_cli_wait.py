"""`rivetr deploy --wait` and `rivetr rollback --wait` against a real `rivetr serve` and Docker:
each prints every step of its deployment through the one that ends it, and exits 0 only when
the deployment went live. The CLI polls the log at its default interval, slower than the
service writes steps, so steps arrive in batches, as they do for a user."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import run_cli
from tests.integration.deploy_helpers import BROKEN, AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]

FAST_HEALTH = {"path": "/", "interval_s": 0.2, "timeout_s": 1, "boot_deadline_s": 4}
BUILT = [
    "deployment.requested",
    "deployment.source_fetched",
    "deployment.build_started",
    "deployment.image_built",
    "deployment.container_started",
]


def steps(stderr: str) -> list[str]:
    """The step types printed, one a line after the time ("12:00:01 deployment.healthy")."""
    return [line.split()[1].rstrip(":") for line in stderr.splitlines() if line[:1].isdigit()]


def healthy_and_live(printed: list[str]) -> list[str]:
    """The steps from the first probe on, with the probes (as many as it took) left out."""
    return [step for step in printed if step != "deployment.health_probed"]


def test_deploy_and_rollback_wait_print_every_step_to_the_end(tmp_path, server_factory) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "images", "import-busybox").returncode == 0
    server = server_factory(data, {"RIVETR_DRAIN_S": "1"}).start()
    token = run_cli(data, "tokens", "create", "--name", "cli").stdout.strip()
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1")
    created = httpx.post(
        f"{server.url}/api/v1/apps",
        json={"name": "site", "git_url": str(repo.path), "port": 8080, "health": FAST_HEALTH},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text

    first = run_cli(data, "deploy", "site", "--wait")
    assert first.returncode == 0, first.stderr + server.output()
    printed = steps(first.stderr)
    assert healthy_and_live(printed) == [
        *BUILT,
        "deployment.healthy",
        "deployment.traffic_switched",
    ], first.stderr
    first_id = first.stdout.strip()

    repo.commit("v2")
    assert run_cli(data, "deploy", "site", "--wait").returncode == 0
    back = run_cli(data, "rollback", "site", "--to", first_id, "--wait")
    assert back.returncode == 0, back.stderr + server.output()
    assert healthy_and_live(steps(back.stderr)) == [
        "deployment.requested",
        "deployment.container_started",  # the retained image: nothing to fetch or build
        "deployment.healthy",
        "deployment.traffic_switched",
    ], back.stderr

    repo.commit("broken", dockerfile=BROKEN)
    failed = run_cli(data, "deploy", "site", "--wait")
    assert failed.returncode == 1, failed.stderr
    assert steps(failed.stderr) == [
        "deployment.requested",
        "deployment.source_fetched",
        "deployment.build_started",
        "deployment.failed",
    ], failed.stderr
    last = failed.stderr.splitlines()[-1]
    assert "deployment.failed: build" in last  # the step that failed, and why
