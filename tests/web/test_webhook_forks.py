"""Pull requests from forks through the real endpoint, with Gitea's real payload of one (head
example2/example into example/example): ignored unless the app takes forks; then a preview
with none of the parent's secrets that deploys a head only once a developer approves it, by
the API or the dashboard's button, and a new head that waits again."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.service.commands.secrets import open_app
from rivetr.web.app import create_app
from tests.web.test_webhooks import deployments, signed

FORK_PR = "gitea/go-playground/pull-request-event.json"
HEAD = "48e773f892a831faa47c0a160d1b7f0cd369ae2a"
NEW_HEAD = "5" * 40
PARENT_URL = "http://localhost:3000/example/example.git"
FORK_URL = "http://localhost:3000/example2/example.git"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    """The payload's repositories are a Gitea on http://localhost: an instance that fetches
    from its own network says so (git_allow_private)."""
    settings = Settings(
        data_dir=str(tmp_path / "data"), engine="none", proxy_enabled=False, git_allow_private=True
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def fork_pr(vectors_dir: Path) -> dict:
    return json.loads((vectors_dir / "webhooks" / FORK_PR).read_bytes())


def make_app(client, auth, **settings) -> str:
    """The app `web` on the payload's repository and branch, with an env value and a git
    token for a fork to covet; its webhook secret."""
    made = client.post(
        "/api/v1/apps",
        json={
            "name": "web",
            "git_url": PARENT_URL,
            "branch": "master",
            "previews": True,
            "env": {"API_KEY": "s3cret-value"},
            "git_token": "ghp_parents_token",
            **settings,
        },
        headers=auth,
    )
    assert made.status_code == 201, made.text
    return client.post("/api/v1/apps/web/webhook", headers=auth).json()["secret"]


def deliver(client, secret: str, payload: dict):
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/gitea/web", content=body, headers=signed("gitea", body, secret, "pull_request")
    )


def synchronized(payload: dict, head: str) -> dict:
    """The same pull request once the fork pushed `head` to it."""
    moved = json.loads(json.dumps(payload))
    moved["action"] = "synchronized"
    moved["pull_request"]["head"]["sha"] = head
    return moved


def preview_secrets(call, services) -> tuple[dict[str, str], str | None, str | None]:
    preview = open_app(services.secrets, call(services.lookup.by_name, "web-pr-2"))
    return preview.env, preview.git_token, preview.deploy_key


def test_a_pull_request_from_a_fork_is_ignored_unless_the_app_takes_forks(
    client, call, services, auth, fork_pr
):
    secret = make_app(client, auth)

    response = deliver(client, secret, fork_pr)

    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "ignored"
    assert response.json()["reason"] == (
        "pull request #2 comes from a fork; this app does not deploy forks"
    )
    assert client.get("/api/v1/apps/web-pr-2", headers=auth).status_code == 404
    assert deployments(call, services) == []
    assert client.get("/api/v1/apps/web", headers=auth).json()["previews_from_forks"] is False


def test_a_forks_preview_has_no_secrets_and_deploys_nothing_until_a_developer_approves(
    client, call, services, auth, member, session_headers, fork_pr
):
    secret = make_app(client, auth, previews_from_forks=True)

    response = deliver(client, secret, fork_pr)

    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "pending_approval"
    assert "waits for a developer's approval" in response.json()["reason"]
    preview = client.get("/api/v1/apps/web-pr-2", headers=auth).json()
    assert (preview["env"], preview["git_auth"]) == ([], [])
    assert (preview["git_url"], preview["branch"]) == (FORK_URL, "master")
    assert preview_secrets(call, services) == ({}, None, None)
    assert deployments(call, services) == []
    [pending] = client.get("/api/v1/apps/web/previews/pending", headers=auth).json()
    assert (pending["preview"], pending["pr_number"], pending["commit_sha"]) == (
        "web-pr-2",
        2,
        HEAD,
    )
    [delivery] = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert (delivery["decision"], delivery["commit_sha"]) == ("pending_approval", HEAD)

    member("dev@example.com", "developer")
    as_developer = session_headers("dev@example.com")
    wrong = client.post(
        "/api/v1/apps/web/previews/2/approve", json={"commit": "b" * 40}, headers=as_developer
    )
    assert wrong.status_code == 422
    assert f"{HEAD} is" in wrong.json()["detail"]
    assert deployments(call, services) == []

    approved = client.post(
        "/api/v1/apps/web/previews/2/approve", json={"commit": HEAD}, headers=as_developer
    )

    assert approved.status_code == 202, approved.text
    assert approved.json()["preview"] == "web-pr-2"
    [requested] = deployments(call, services)
    assert (requested.app, requested.commit) == ("web-pr-2", HEAD)
    assert requested.deployment_id == approved.json()["deployment_id"]
    assert preview_secrets(call, services) == (
        {"API_KEY": "s3cret-value"},
        "ghp_parents_token",
        None,
    )
    assert client.get("/api/v1/apps/web/previews/pending", headers=auth).json() == []
    logged = {e.type: e for e in call(services.store.read_all)}
    assert logged["app.preview_approved"].actor == "user:dev@example.com"
    assert logged["deployment.requested"].actor == "user:dev@example.com"
    again = client.post(
        "/api/v1/apps/web/previews/2/approve", json={"commit": HEAD}, headers=as_developer
    )
    assert again.status_code == 409


def test_a_new_head_from_the_fork_waits_for_its_own_approval_without_the_secrets(
    client, call, services, auth, fork_pr
):
    secret = make_app(client, auth, previews_from_forks=True)
    deliver(client, secret, fork_pr)
    call(services.previews.approve, SYSTEM, "web", 2, HEAD)
    assert preview_secrets(call, services)[0] == {"API_KEY": "s3cret-value"}

    response = deliver(client, secret, synchronized(fork_pr, NEW_HEAD))

    assert response.json()["decision"] == "pending_approval"
    assert NEW_HEAD[:12] in response.json()["reason"]
    assert [d.commit for d in deployments(call, services)] == [HEAD]  # not the new head
    assert preview_secrets(call, services) == ({}, None, None)  # taken back meanwhile
    [pending] = client.get("/api/v1/apps/web/previews/pending", headers=auth).json()
    assert pending["commit_sha"] == NEW_HEAD
    old = client.post("/api/v1/apps/web/previews/2/approve", json={"commit": HEAD}, headers=auth)
    assert old.status_code == 422
    assert "not the head" in old.json()["detail"]

    new = client.post(
        "/api/v1/apps/web/previews/2/approve", json={"commit": NEW_HEAD}, headers=auth
    )

    assert new.status_code == 202, new.text
    assert [d.commit for d in deployments(call, services)] == [HEAD, NEW_HEAD]
    assert preview_secrets(call, services)[1] == "ghp_parents_token"


def test_deploying_a_forks_preview_by_hand_builds_its_approved_head_and_nothing_else(
    client, call, services, auth, fork_pr
):
    secret = make_app(client, auth, previews_from_forks=True)
    deliver(client, secret, fork_pr)
    by_hand = "/api/v1/apps/web-pr-2/deployments"

    unapproved = client.post(by_hand, json={}, headers=auth)
    assert unapproved.status_code == 422
    assert "awaits a developer's approval" in unapproved.json()["detail"]
    call(services.previews.approve, SYSTEM, "web", 2, HEAD)

    now = client.post(by_hand, json={}, headers=auth)  # "Deploy now": no commit named
    other = client.post(by_hand, json={"commit": NEW_HEAD}, headers=auth)

    assert now.status_code == 202, now.text
    assert other.status_code == 422
    assert "deploys only its approved head" in other.json()["detail"]
    assert [d.commit for d in deployments(call, services)] == [HEAD, HEAD]
    deliver(client, secret, synchronized(fork_pr, NEW_HEAD))
    assert client.post(by_hand, json={}, headers=auth).status_code == 422
    assert len(deployments(call, services)) == 2


def test_who_may_approve_and_what_cannot_be_approved(
    client, call, services, auth, mint, member, session_headers, fork_pr
):
    secret = make_app(client, auth, previews_from_forks=True)
    deliver(client, secret, fork_pr)
    body = {"commit": HEAD}

    deploy_token = mint("deploy", "ci")
    member("viewer@example.com", "viewer")
    as_viewer = session_headers("viewer@example.com")
    for headers in (deploy_token, as_viewer):
        refused = client.post("/api/v1/apps/web/previews/2/approve", json=body, headers=headers)
        assert refused.status_code == 403, refused.text
    for path, status in [
        ("/api/v1/apps/web/previews/3/approve", 422),  # no such pull request
        ("/api/v1/apps/web/previews/0/approve", 400),
        ("/api/v1/apps/web/previews/99999999999999999999/approve", 400),
        ("/api/v1/apps/web/previews/x/approve", 404),  # no pull request has such a number
        ("/api/v1/apps/nope/previews/2/approve", 404),
    ]:
        response = client.post(path, json=body, headers=auth)
        assert response.status_code == status, (path, response.text)
    bad = client.post("/api/v1/apps/web/previews/2/approve", json={"commit": "HEAD"}, headers=auth)
    assert bad.status_code == 400
    assert deployments(call, services) == []
    client.patch("/api/v1/apps/web", json={"previews_from_forks": False}, headers=auth)
    off = client.post("/api/v1/apps/web/previews/2/approve", json=body, headers=auth)
    assert off.status_code == 422
    assert "previews_from_forks" in off.json()["detail"]


def test_closing_a_forks_pull_request_removes_its_preview_and_its_pending_approval(
    client, auth, fork_pr
):
    secret = make_app(client, auth, previews_from_forks=True)
    deliver(client, secret, fork_pr)
    closed = json.loads(json.dumps(fork_pr))
    closed["action"] = "closed"

    response = deliver(client, secret, closed)

    assert response.json()["decision"] == "close_preview"
    assert client.get("/api/v1/apps/web-pr-2", headers=auth).status_code == 404
    assert client.get("/api/v1/apps/web/previews/pending", headers=auth).json() == []


def test_the_app_page_lists_pending_heads_with_an_approve_button(
    client, call, services, auth, fork_pr
):
    secret = make_app(client, auth, previews_from_forks=True)
    deliver(client, secret, fork_pr)
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))

    page = client.get("/apps/web")

    assert page.status_code == 200
    assert "awaiting approval" in page.text
    assert f"<code>{HEAD}</code>" in page.text
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
    form = {"csrf_token": csrf, "commit": HEAD}
    forged = client.post(
        "/apps/web/previews/2/approve", data={**form, "csrf_token": "x"}, follow_redirects=False
    )
    assert forged.status_code == 403
    stale = client.post(
        "/apps/web/previews/2/approve", data={**form, "commit": "c" * 40}, follow_redirects=False
    )
    assert stale.status_code == 422
    assert "not the head" in stale.text

    approved = client.post("/apps/web/previews/2/approve", data=form, follow_redirects=False)

    assert approved.status_code in (302, 303), approved.text
    [requested] = deployments(call, services)
    assert approved.headers["location"] == f"/deployments/{requested.deployment_id}"
    assert (requested.app, requested.commit, requested.trigger) == ("web-pr-2", HEAD, "dashboard")
    assert "awaiting approval" not in client.get("/apps/web").text
