"""Kill -9 the service at each step of a deployment, start it again, and check what the brief
promises: no orphan container, every deployment at rest, the old release still serving, and a
live release whose container died started again. Real engine, real `rivetr serve`."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, run_cli
from tests.integration.deploy_helpers import NOT_LISTENING, SLOW_BUILD, AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]

AT_REST = {"live", "retired", "failed", "rolled_back", "cancelled"}
FAST_HEALTH = {"path": "/", "interval_s": 0.2, "timeout_s": 1, "boot_deadline_s": 4}
DOCKER = "/usr/bin/docker"


class Rivetr:
    """One data directory, its token, the app under test and the server running on them."""

    def __init__(self, tmp_path: Path, server_factory: type[Server]) -> None:
        self.data = tmp_path / "data"
        self.factory = server_factory
        self.env = {"RIVETR_DRAIN_S": "30"}  # a drain long enough to kill the service in
        self.token = run_cli(self.data, "tokens", "create", "--name", "crash").stdout.strip()
        self.server = server_factory(self.data, self.env).start()
        self.app = f"c{uuid.uuid4().hex[:8]}"
        self.app_id = ""
        self.repo = AppRepo(tmp_path / "repo")
        self.repo.commit("v1")

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(
            method, f"{self.server.url}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )

    def create_app(self, **health: object) -> None:
        body = {
            "name": self.app,
            "git_url": str(self.repo.path),
            "port": 8080,
            "health": {**FAST_HEALTH, **health},
        }
        response = self.call("POST", "/apps", json=body)
        assert response.status_code == 201, response.text
        self.app_id = response.json()["id"]  # what its containers and images are labelled with

    def deploy(self) -> str:
        response = self.call("POST", f"/apps/{self.app}/deployments", json={})
        assert response.status_code == 202, response.text
        return str(response.json()["deployment_id"])

    def deployment(self, deployment_id: str) -> dict:  # type: ignore[type-arg]
        response = self.call("GET", f"/deployments/{deployment_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_for(self, deployment_id: str, statuses: set[str], timeout: float = 60) -> dict:  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            detail = self.deployment(deployment_id)
            if detail["deployment"]["status"] in statuses:
                return detail
            time.sleep(0.2)
        raise AssertionError(f"{deployment_id} is still {detail['deployment']['status']}")

    def crash_and_restart(self) -> None:
        self.server.stop(kill=True)
        self.server = self.factory(self.data, self.env).start()

    def containers(self) -> dict[str, str]:
        """This app's containers, name -> engine state."""
        out = subprocess.run(
            [DOCKER, "ps", "-a", "--filter", f"label=rivetr.app={self.app_id}", "--format",
             "{{.Names}} {{.State}}"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        return dict(line.split(" ", 1) for line in out.splitlines())

    def events(self) -> list[dict]:  # type: ignore[type-arg]
        exported = run_cli(self.data, "events", "export")
        return [json.loads(line) for line in exported.stdout.splitlines()]

    def cleanup(self) -> None:
        self.server.stop(kill=True)
        for name in self.containers():
            subprocess.run([DOCKER, "rm", "-f", name], capture_output=True)
        images = subprocess.run(
            [DOCKER, "images", "-q", "--filter", f"label=rivetr.app={self.app_id}"],
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        if images:
            subprocess.run([DOCKER, "rmi", "-f", *set(images)], capture_output=True)


@pytest.fixture
def rivetr(tmp_path: Path, server_factory: type[Server]) -> Iterator[Rivetr]:
    started = Rivetr(tmp_path, server_factory)
    try:
        yield started
    finally:
        started.cleanup()


def serves(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text


def live_v1(rivetr: Rivetr) -> tuple[str, int]:
    rivetr.create_app()
    v1 = rivetr.deploy()
    detail = rivetr.wait_for(v1, AT_REST)
    assert detail["deployment"]["status"] == "live", detail
    port = detail["deployment"]["host_port"]
    assert serves(port) == "v1"
    return v1, port


def assert_at_rest_with_v1_serving(rivetr: Rivetr, v1: str, port: int) -> None:
    response = rivetr.call("GET", f"/apps/{rivetr.app}/deployments")
    statuses = {d["id"]: d["status"] for d in response.json()}
    assert set(statuses.values()) <= AT_REST, statuses
    assert statuses[v1] == "live"
    assert rivetr.deployment(v1)["live"]
    assert serves(port) == "v1"
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v1}": "running"}


def test_killed_mid_build_the_deployment_fails_and_v1_keeps_serving(rivetr):
    v1, port = live_v1(rivetr)
    rivetr.repo.commit("v2 builds for ten minutes", dockerfile=SLOW_BUILD)
    v2 = rivetr.deploy()
    rivetr.wait_for(v2, {"building"})
    time.sleep(1)  # well inside `RUN sleep 600`

    rivetr.crash_and_restart()

    detail = rivetr.wait_for(v2, AT_REST, timeout=30)
    assert detail["deployment"]["status"] == "failed"
    assert detail["deployment"]["failed_step"] == "building"
    assert "interrupted" in detail["deployment"]["failure_reason"]
    assert_at_rest_with_v1_serving(rivetr, v1, port)


def test_killed_while_the_new_container_is_checked_it_is_removed_as_an_orphan(rivetr):
    v1, port = live_v1(rivetr)
    # v2 never answers, and the app now gives a release a minute to boot
    patched = rivetr.call(
        "PATCH", f"/apps/{rivetr.app}", json={"health": {**FAST_HEALTH, "boot_deadline_s": 60}}
    )
    assert patched.status_code == 200, patched.text
    rivetr.repo.commit("v2 never listens", dockerfile=NOT_LISTENING)
    v2 = rivetr.deploy()
    rivetr.wait_for(v2, {"health_checking"})
    assert f"rivetr-{rivetr.app}-{v2}" in rivetr.containers()

    rivetr.crash_and_restart()

    detail = rivetr.wait_for(v2, AT_REST, timeout=30)
    assert detail["deployment"]["status"] == "failed"
    deadline = time.monotonic() + 30  # the reconciler runs once the engine answers
    while f"rivetr-{rivetr.app}-{v2}" in rivetr.containers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert_at_rest_with_v1_serving(rivetr, v1, port)
    removed = [e for e in rivetr.events() if e["type"] == "engine.orphan_removed"]
    assert any(e["data"]["container_name"] == f"rivetr-{rivetr.app}-{v2}" for e in removed)


def test_killed_while_the_old_release_drains_it_is_retired_after_the_restart(rivetr):
    v1, old_port = live_v1(rivetr)
    rivetr.repo.commit("v2")
    v2 = rivetr.deploy()
    detail = rivetr.wait_for(v2, AT_REST)
    assert detail["deployment"]["status"] == "live"
    assert rivetr.deployment(v1)["deployment"]["status"] == "superseded"  # draining for 30 s

    rivetr.crash_and_restart()

    assert rivetr.wait_for(v1, {"retired"}, timeout=30)["deployment"]["status"] == "retired"
    new_port = detail["deployment"]["host_port"]
    assert serves(new_port) == "v2"
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v2}": "running"}
    with pytest.raises(httpx.TransportError):
        serves(old_port)


def test_a_live_container_removed_while_the_service_was_down_is_started_again(rivetr):
    v1, old_port = live_v1(rivetr)
    rivetr.server.stop(kill=True)
    subprocess.run(
        [DOCKER, "rm", "-f", f"rivetr-{rivetr.app}-{v1}"], check=True, capture_output=True
    )

    rivetr.server = rivetr.factory(rivetr.data, rivetr.env).start()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        steps = [s["type"] for s in rivetr.deployment(v1)["steps"]]
        if "deployment.restarted" in steps:
            break
        time.sleep(0.2)
    detail = rivetr.deployment(v1)
    assert [s["type"] for s in detail["steps"]][-1] == "deployment.restarted"
    assert detail["deployment"]["status"] == "live"
    new_port = detail["deployment"]["host_port"]
    assert new_port != old_port
    assert serves(new_port) == "v1"
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v1}": "running"}
