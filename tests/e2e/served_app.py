"""One app of a real `rivetr serve` on the real engine, for the tests that stop, kill and
restart the service around it: its data directory, token, repository and server."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import httpx

from tests.e2e.conftest import Server, run_cli
from tests.integration.deploy_helpers import AppRepo

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
