"""POST /webhooks/{provider}/{app} with real payloads from each git host, signed the way that
host signs them, through the real HTTP endpoint: what deploys, what is acknowledged and why,
replays, previews, limits, and a delivery record for every one."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid

import pytest
from litestar.testing import TestClient

from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.web.app import create_app

PUSHES = {  # provider -> (payload, event header, the commit it should deploy)
    "github": ("github/go-scm/push.json", "push", "199eddf46df50de8d02e99bf1c5fdb4101338224"),
    "gitlab": ("gitlab/go-scm/push.json", "Push Hook", "2adc9465c4edfc33834e173fe89436a7cb899a1d"),
    "gitea": ("gitea/go-scm/push.json", "push", "4522cbcefc20728a5b72b3a86af35e608622c514"),
    "bitbucket": (
        "bitbucket/go-scm/push.json",
        "repo:push",
        "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
    ),
}


def signed(provider: str, body: bytes, secret: str, event: str, delivery: str | None = None):
    """The headers the provider sends with `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    delivery = delivery or str(uuid.uuid4())
    headers = {"Content-Type": "application/json"}
    match provider:
        case "github":
            headers |= {
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": f"sha256={digest}",
            }
        case "gitlab":
            headers |= {
                "X-Gitlab-Event": event,
                "X-Gitlab-Event-UUID": delivery,
                "X-Gitlab-Token": secret,
            }
        case "gitea":
            headers |= {
                "X-Gitea-Event": event,
                "X-Gitea-Delivery": delivery,
                "X-Gitea-Signature": digest,
            }
        case "bitbucket":
            headers |= {
                "X-Event-Key": event,
                "X-Request-UUID": delivery,
                "X-Hub-Signature": f"sha256={digest}",
            }
    return headers


def deployments(call, services) -> list:
    return [e.event for e in call(services.store.read_all) if e.type == "deployment.requested"]


@pytest.mark.parametrize("provider", list(PUSHES))
def test_a_signed_push_to_the_apps_branch_deploys_that_exact_commit(
    client, call, services, auth, secret, webhooks, provider
):
    path, event, commit = PUSHES[provider]
    body = (webhooks / path).read_bytes()

    response = client.post(
        f"/webhooks/{provider}/web", content=body, headers=signed(provider, body, secret, event)
    )

    assert response.status_code == 202, response.text
    assert response.json()["decision"] == "deploy"
    [requested] = deployments(call, services)
    assert (requested.commit, requested.trigger) == (commit, "webhook")
    assert requested.deployment_id == response.json()["deployment_id"]
    [delivery] = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert (delivery["provider"], delivery["signature"], delivery["decision"]) == (
        provider,
        "valid",
        "deploy",
    )
    assert delivery["commit_sha"] == commit
    assert delivery["deployment_id"] == requested.deployment_id
    logged = [e for e in call(services.store.read_all) if e.type == "deployment.requested"]
    assert (logged[0].actor, logged[0].source) == (f"webhook:{provider}", f"webhook:{provider}")


def test_other_branches_tags_and_deletions_are_acknowledged_with_the_reason(
    client, call, services, auth, secret, webhooks
):
    cases = [
        ("github", "github/go-scm/push_tag.json", "push", "tags do not deploy"),
        ("github", "github/go-scm/push_branch_delete.json", "push", "was deleted"),
        ("github", "github/go-scm/branch_create.json", "create", "feature-branch"),
        ("gitlab", "gitlab/go-scm/tag_create.json", "Tag Push Hook", "tags do not deploy"),
        ("gitea", "gitea/go-scm/tag_delete.json", "delete", "tag"),
        ("bitbucket", "bitbucket/go-scm/push_branch_create.json", "repo:push", "develop"),
        ("github", "github/octokit_ping_payload.json", "ping", "ping"),
        ("gitlab", "gitlab/go-gitlab/pipeline.json", "Pipeline Hook", "do not deploy"),
    ]
    for provider, path, event, reason in cases:
        body = (webhooks / path).read_bytes()
        response = client.post(
            f"/webhooks/{provider}/web", content=body, headers=signed(provider, body, secret, event)
        )
        assert response.status_code == 200, (path, response.text)
        assert response.json()["decision"] == "ignored"
        assert reason in response.json()["reason"], (path, response.json())

    assert deployments(call, services) == []
    listed = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert len(listed) == len(cases)
    assert all(d["decision"] == "ignored" and d["reason"] for d in listed)


def test_a_replayed_delivery_is_acknowledged_and_not_deployed_again(
    client, call, services, auth, secret, webhooks
):
    path, event, _ = PUSHES["github"]
    body = (webhooks / path).read_bytes()
    headers = signed("github", body, secret, event, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")

    first = client.post("/webhooks/github/web", content=body, headers=headers)
    again = client.post("/webhooks/github/web", content=body, headers=headers)

    assert first.status_code == 202
    assert (again.status_code, again.json()["decision"]) == (200, "replayed")
    assert len(deployments(call, services)) == 1
    decisions = [
        d["decision"]
        for d in client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    ]
    assert decisions == ["replayed", "deploy"]


def test_a_skip_marker_in_the_head_commit_is_honoured(client, call, services, secret, webhooks):
    payload = json.loads((webhooks / "github/go-scm/push.json").read_bytes())
    payload["head_commit"]["message"] = "Update README [skip deploy]"
    body = json.dumps(payload).encode()

    response = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "push")
    )

    assert response.json()["decision"] == "ignored"
    assert "[skip deploy]" in response.json()["reason"]
    assert deployments(call, services) == []


def test_watch_paths_decide_on_the_files_the_push_changed(
    client, call, services, auth, secret, webhooks
):
    body = (webhooks / "github/go-scm/push.json").read_bytes()
    changed = client.patch("/api/v1/apps/web", json={"watch_paths": ["api/**"]}, headers=auth)
    assert changed.json()["watch_paths"] == ["api/**"]

    skipped = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "push")
    )
    client.patch("/api/v1/apps/web", json={"watch_paths": ["**/*.md", "README*"]}, headers=auth)
    again = body.replace(b"{", b'{"pushed_again": true, ', 1)  # the same body is a replay
    deployed = client.post(
        "/webhooks/github/web", content=again, headers=signed("github", again, secret, "push")
    )

    assert skipped.json()["decision"] == "ignored"
    assert "watch paths" in skipped.json()["reason"]
    assert deployed.json()["decision"] == "deploy"


def test_bad_signatures_are_refused_recorded_and_deploy_nothing(
    client, call, services, auth, secret, webhooks
):
    body = (webhooks / "github/go-scm/push.json").read_bytes()
    forged = signed("github", body, "not-the-secret", "push")
    missing = {k: v for k, v in forged.items() if k != "X-Hub-Signature-256"}
    tampered = signed("github", body, secret, "push")

    assert client.post("/webhooks/github/web", content=body, headers=forged).status_code == 401
    assert client.post("/webhooks/github/web", content=body, headers=missing).status_code == 401
    altered = body.replace(b"master", b"mastor", 1)
    assert client.post("/webhooks/github/web", content=altered, headers=tampered).status_code == 401
    wrong_token = signed("gitlab", body, "nope", "Push Hook")
    assert client.post("/webhooks/gitlab/web", content=body, headers=wrong_token).status_code == 401

    assert deployments(call, services) == []
    listed = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert [d["signature"] for d in listed] == ["invalid", "invalid", "missing", "invalid"]
    assert {d["decision"] for d in listed} == {"refused"}


def test_an_app_without_a_secret_refuses_everything_and_a_rotated_secret_replaces_the_old(
    client, call, services, auth, secret, webhooks
):
    body = (webhooks / "github/go-scm/push.json").read_bytes()
    client.post("/api/v1/apps", json={"name": "quiet", "branch": "master"}, headers=auth)
    closed = client.post(
        "/webhooks/github/quiet", content=body, headers=signed("github", body, "", "push")
    )
    assert closed.status_code == 403
    assert "not enabled" in closed.json()["detail"]

    rotated = client.post("/api/v1/apps/web/webhook", headers=auth).json()["secret"]
    old = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "push")
    )
    new = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, rotated, "push")
    )
    assert (old.status_code, new.status_code) == (401, 202)
    log = str(call(services.store.read_all))
    assert secret not in log
    assert rotated not in log
    types = [e.type for e in call(services.store.read_all)]
    assert types.count("app.webhook_secret_set") == 2
    assert client.delete("/api/v1/apps/web/webhook", headers=auth).status_code == 204
    off = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, rotated, "push")
    )
    assert off.status_code == 403


def test_limits_come_before_the_body_is_read_and_nothing_is_a_500(client, secret, webhooks):
    body = (webhooks / "github/go-scm/push.json").read_bytes()
    headers = signed("github", body, secret, "push")

    assert client.post("/webhooks/gogs/web", content=body, headers=headers).status_code == 404
    as_form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/webhooks/github/web", content=body, headers=as_form).status_code == 415
    huge = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    assert client.post("/webhooks/github/web", content=huge, headers=headers).status_code == 413
    broken = b'{"ref": "refs/heads/master", '
    response = client.post(
        "/webhooks/github/web", content=broken, headers=signed("github", broken, secret, "push")
    )
    assert response.status_code == 400
    assert "malformed" in response.json()["detail"]
    unknown = client.post("/webhooks/github/nope", content=body, headers=headers)
    assert unknown.status_code == 404


def test_pull_requests_open_a_preview_app_and_closing_removes_it(
    client, call, services, auth, secret, webhooks
):
    client.patch(
        "/api/v1/apps/web", json={"previews": True, "domains": ["web.example.com"]}, headers=auth
    )
    client.patch("/api/v1/apps/web", json={"env": {"API_KEY": "s3cret-value"}}, headers=auth)
    opened = json.loads((webhooks / "github/octokit_pull_request_opened.payload.json").read_bytes())
    opened["pull_request"]["base"]["ref"] = "master"
    number = opened["pull_request"]["number"]
    body = json.dumps(opened).encode()

    response = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "pull_request")
    )

    assert response.status_code == 202, response.text
    assert response.json()["decision"] == "preview"
    preview = client.get(f"/api/v1/apps/web-pr-{number}", headers=auth).json()
    assert preview["preview_of"] == "web"
    assert preview["pr_number"] == number
    assert preview["branch"] == opened["pull_request"]["head"]["ref"]
    assert preview["domains"] == [f"pr-{number}.web.example.com"]
    assert preview["env"] == ["API_KEY"]
    [requested] = deployments(call, services)
    assert (requested.app, requested.commit) == (
        f"web-pr-{number}",
        opened["pull_request"]["head"]["sha"],
    )

    opened["action"] = "closed"
    body = json.dumps(opened).encode()
    closed = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "pull_request")
    )
    assert closed.json()["decision"] == "close_preview"
    assert client.get(f"/api/v1/apps/web-pr-{number}", headers=auth).status_code == 404
    again = client.post(  # a redelivery (new id) of the close changes nothing
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "pull_request")
    )
    assert again.status_code == 200


def test_the_app_page_shows_each_delivery_with_its_decision(client, auth, secret, webhooks, mint):
    body = (webhooks / "github/go-scm/push_tag.json").read_bytes()
    client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "push")
    )
    client.post("/webhooks/github/web", content=body, headers=signed("github", body, "x", "push"))
    token = auth["Authorization"].split()[1]
    page_token = re.search(r'name="form_token" value="([^"]+)"', client.get("/login").text)
    client.post("/login", data={"token": token, "form_token": page_token.group(1)})

    page = client.get("/apps/web")

    assert page.status_code == 200
    assert "tag v0.0.1: tags do not deploy" in page.text
    assert "the signature does not match" in page.text
    assert client.get("/apps/nope").status_code == 404


def test_refusals_for_made_up_app_names_share_one_budget_so_the_log_cannot_be_flooded(
    client, call, services, webhooks
):
    body = (webhooks / "github/go-scm/push.json").read_bytes()
    for n in range(40):
        headers = signed("github", body, "x", "push")
        response = client.post(f"/webhooks/github/made-up-{n}", content=body, headers=headers)
        assert response.status_code == 404
    refused = [e for e in call(services.store.read_all) if e.type == "webhook.received"]
    assert len(refused) == 30  # then answered, but not recorded
    assert "not recorded" in response.json()["detail"]


@pytest.mark.parametrize("number", [2**63, 2**31, 0, -5])
def test_a_pull_request_number_out_of_bounds_is_refused_and_every_team_keeps_its_views(
    client, auth, secret, webhooks, number
):
    client.patch("/api/v1/apps/web", json={"previews": True}, headers=auth)
    opened = json.loads((webhooks / "github/octokit_pull_request_opened.payload.json").read_bytes())
    opened["pull_request"]["base"]["ref"] = "master"
    opened["number"] = opened["pull_request"]["number"] = number
    body = json.dumps(opened).encode()

    response = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "pull_request")
    )

    assert response.status_code == 400, response.text
    assert "pr_number" in response.json()["detail"]
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok", health
    assert client.post("/api/v1/apps", json={"name": "fresh"}, headers=auth).status_code == 201
    assert client.get("/api/v1/apps/fresh", headers=auth).status_code == 200
    names = {app["name"] for app in client.get("/api/v1/apps", headers=auth).json()}
    assert names == {"web", "fresh"}
    [delivery] = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert (delivery["decision"], delivery["signature"]) == ("refused", "valid")


def test_a_push_naming_no_commit_id_is_refused(client, secret, webhooks):
    body, event, _ = PUSHES["github"]
    push = json.loads((webhooks / body).read_bytes())
    push["ref"] = "refs/heads/master"
    push["after"] = "HEAD~1; echo"
    raw = json.dumps(push).encode()

    response = client.post(
        "/webhooks/github/web", content=raw, headers=signed("github", raw, secret, event)
    )

    assert response.status_code == 400
    assert "after" in response.json()["detail"]


def test_webhook_urls_are_built_on_the_public_url_when_one_is_set(tmp_path) -> None:
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        engine="none",
        proxy_enabled=False,
        public_url="https://deploy.example.com/",
    )
    with TestClient(create_app(settings)) as client:
        _, token = client.blocking_portal.call(
            client.app.state.services.tokens.create, SYSTEM, "t", "admin"
        )
        auth = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/apps", json={"name": "web"}, headers=auth).status_code == 201
        body = client.post("/api/v1/apps/web/webhook", headers=auth).json()

    assert body["urls"]["github"] == "https://deploy.example.com/webhooks/github/web"
    assert body["urls"]["gitlab"] == "https://deploy.example.com/webhooks/gitlab/web"
    assert body["note"] is None


def test_webhook_urls_on_a_loopback_address_come_with_a_note_saying_so(client, auth) -> None:
    assert client.post("/api/v1/apps", json={"name": "web"}, headers=auth).status_code == 201
    body = client.post(
        "/api/v1/apps/web/webhook", headers={**auth, "Host": "127.0.0.1:8080"}
    ).json()

    assert body["urls"]["github"] == "http://127.0.0.1:8080/webhooks/github/web"
    assert "set public_url" in body["note"]
