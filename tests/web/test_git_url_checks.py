"""A git_url the instance does not fetch from is refused when it is set: a 422 naming why, and
nothing appended."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.web.app import create_app

APP = {"name": "web", "git_url": "https://github.com/me/web.git"}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("/srv/git/web", "local paths are not allowed on this instance"),
        ("file:///etc", "local paths are not allowed on this instance"),
        ("../../x", "a local path must be absolute"),
        ("fd::3", "transport helper"),
        ("ext::sh", "transport helper"),
        ("-uhttps://x/y", "cannot start with '-'"),
        ("https://10.0.0.1/x", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest", "link-local address"),
        ("https://0x7f.1/x", "0x7f.1 (127.0.0.1) is a loopback address"),
        ("git@localhost:me/web.git", "localhost is a loopback name"),
        ("http://github.com/me/web.git", "http:// is not encrypted"),
    ],
)
def test_a_refused_url_is_a_422_naming_git_url_and_why(client, auth, log_types, url, why):
    answered = client.post("/api/v1/apps", json={**APP, "git_url": url}, headers=auth)

    assert answered.status_code == 422, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    detail = answered.json()["detail"]
    assert detail.startswith("git_url: ")
    assert why in detail
    assert "app.created" not in log_types()


def test_local_paths_say_how_an_instance_admin_allows_them(client, auth):
    answered = client.post("/api/v1/apps", json={**APP, "git_url": "/srv/git/web"}, headers=auth)

    assert answered.json()["detail"] == (
        "git_url: local paths are not allowed on this instance "
        "(an instance admin can allow directories with git_local_dirs)"
    )


def test_changing_to_a_refused_url_keeps_the_old_one(client, auth):
    client.post("/api/v1/apps", json=APP, headers=auth)

    answered = client.patch("/api/v1/apps/web", json={"git_url": "file:///etc"}, headers=auth)

    assert answered.status_code == 422
    assert client.get("/api/v1/apps/web", headers=auth).json()["git_url"] == APP["git_url"]


def test_who_may_not_set_the_url_learns_nothing_about_the_rules(client, auth, mint):
    client.post("/api/v1/apps", json=APP, headers=auth)

    answered = client.patch(
        "/api/v1/apps/web", json={"git_url": "/srv/git/web"}, headers=mint("deploy", "ci")
    )

    assert answered.status_code == 403
    assert "git_local_dirs" not in answered.text


@pytest.fixture
def local_client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    (tmp_path / "srv" / "web").mkdir(parents=True)
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        engine="none",
        proxy_enabled=False,
        git_local_dirs=[str(tmp_path / "srv")],
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_paths_inside_the_allowed_directories_are_accepted_and_no_others(local_client, tmp_path):
    _, secret = local_client.blocking_portal.call(
        local_client.app.state.services.tokens.create, SYSTEM, "admin", "admin"
    )
    auth = {"Authorization": f"Bearer {secret}"}
    inside = str(tmp_path / "srv" / "web")

    created = local_client.post("/api/v1/apps", json={**APP, "git_url": inside}, headers=auth)
    escaped = local_client.patch(
        "/api/v1/apps/web", json={"git_url": f"{inside}/../../data"}, headers=auth
    )

    assert created.status_code == 201, created.text
    assert escaped.status_code == 422
    assert (
        "outside the directories this instance fetches local repositories from"
        in (escaped.json()["detail"])
    )
