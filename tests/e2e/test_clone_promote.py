"""Staging and production on the real engine, through `rivetr serve` and its CLI: a project's
production app is cloned to staging, staging deploys a new commit, `rivetr promote` deploys
that very image to production (no build step on its timeline, which says where it came from),
and production rolls back to its own earlier release."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateProject
from tests.e2e.conftest import run_cli
from tests.integration.deploy_helpers import AppRepo

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]

FAST_HEALTH = {"path": "/", "interval_s": 0.2, "timeout_s": 1, "boot_deadline_s": 4}
BUILDS = {"deployment.source_fetched", "deployment.build_started", "deployment.image_built"}


async def make_project(data: Path) -> None:
    """The project `shop`, made as any command is (the API for projects is another part's)."""
    from rivetr.bootstrap import opened

    async with opened(Settings(data_dir=str(data), engine="none")) as services:
        await services.projects.run(SYSTEM, CreateProject(team="default", project="shop"))


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, body: dict[str, object], expect: int) -> dict[str, object]:
        response = self.client.post(path, json=body)
        assert response.status_code == expect, response.text
        return dict(response.json())

    def live(self, deployment_id: str) -> dict[str, object]:
        """The deployment once it has gone live (or failed: then the assertion says why)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            detail = self.client.get(f"/api/v1/deployments/{deployment_id}").json()
            if detail["deployment"]["status"] not in (
                "requested",
                "source_fetched",
                "building",
                "built",
                "starting",
                "health_checking",
                "healthy",
            ):
                assert detail["deployment"]["status"] == "live", detail
                return dict(detail)
            time.sleep(0.2)
        raise AssertionError(f"{deployment_id} did not go live")

    def deployed(self, app: str, body: dict[str, object] | None = None, path: str = "") -> dict:
        started = self.post(f"/api/v1/apps/{app}/{path or 'deployments'}", body or {}, 202)
        return self.live(str(started["deployment_id"]))


def served(detail: dict) -> str:
    port = detail["deployment"]["host_port"]
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text


def test_clone_production_deploy_staging_promote_and_roll_back(tmp_path, server_factory) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "images", "import-busybox").returncode == 0
    asyncio.run(make_project(data))
    server = server_factory(data, {"RIVETR_DRAIN_S": "1"}).start()
    token = run_cli(data, "tokens", "create", "--name", "cli").stdout.strip()
    api = Api(server.url, token)
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1")
    api.post(
        "/api/v1/apps",
        {
            "name": "site",
            "git_url": str(repo.path),
            "port": 8080,
            "health": FAST_HEALTH,
            "domains": ["site.example.test"],
            "env": {"WHERE": "production"},
            "project": "shop",
        },
        201,
    )
    first = api.deployed("site")
    assert served(first) == "v1"

    cloned = api.post(
        "/api/v1/projects/default/shop/environments/production/clone",
        {
            "to_environment": "staging",
            "create_environment": True,
            "name_pattern": "{name}-staging",
            "domain_pattern": "{sub}.staging.{zone}",
        },
        201,
    )
    assert cloned["apps"] == [
        {"from_app": "site", "app": "site-staging", "domains": ["site.staging.example.test"]}
    ]
    repo.commit("v2")
    staged = api.deployed("site-staging")
    assert served(staged) == "v2"

    promoted = run_cli(data, "promote", "site", "--wait")

    assert promoted.returncode == 0, promoted.stderr + server.output()
    detail = api.live(promoted.stdout.strip())
    assert detail["deployment"]["image"] == staged["deployment"]["image"]  # the very image
    assert detail["deployment"]["app"] == "site"
    types = [step["type"] for step in detail["steps"]]
    assert not BUILDS & set(types), types
    requested = detail["steps"][0]["detail"]
    assert requested["promoted_from"] == staged["deployment"]["id"]
    assert requested["promoted_from_app"] == "site-staging"
    assert served(detail) == "v2"
    page = httpx.get(
        f"{server.url}/deployments/{detail['deployment']['id']}", cookies={"rivetr_token": token}
    ).text
    said = f"promoted from site-staging release {staged['deployment']['id']}"
    assert f"{said} (image {staged['deployment']['image']})" in page
    timeline = page[page.index('<table class="timeline"') :].partition("</table>")[0]
    assert "build_started" not in timeline
    assert "container_started" in timeline

    back = api.deployed("site", {}, "rollback")

    assert back["deployment"]["image"] == first["deployment"]["image"]
    assert back["deployment"]["rollback_of"] == first["deployment"]["id"]
    assert served(back) == "v1"
    assert served(api.live(str(staged["deployment"]["id"]))) == "v2"  # staging serves on
