"""A compose stack from a repository deployed on push: its webhook turned on through the API
(the secret answered once, the URLs naming the stack), real payloads from each git host signed
as that host signs them, posted to /webhooks/stacks/<provider>/<id>: a push to its branch
requests a release of the pushed commit, a replay is acknowledged and not acted on, refusals
are answered and recorded as an app's are, and every delivery is listed by the stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.web.test_webhooks import PUSHES, signed

COMPOSE = "services: {web: {image: nginx}}"


def releases(call: Any, services: Any) -> list[Any]:
    return [e for e in call(services.store.read_all) if e.type == "stack_release.requested"]


def deliveries(call: Any, services: Any) -> list[Any]:
    return [e for e in call(services.store.read_all) if e.type == "webhook.received"]


@pytest.fixture
def stack(client: Any, auth: dict[str, str]) -> str:
    """A stack of the default team from a repository, on branch master (as the payloads push)."""
    made = client.post(
        "/api/v1/stacks",
        json={"name": "blog", "git_url": "https://git.example.com/blog.git", "branch": "master"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["stack_id"])


@pytest.fixture
def stack_secret(client: Any, auth: dict[str, str], stack: str) -> str:
    on = client.post(f"/api/v1/stacks/{stack}/webhook", headers=auth)
    assert on.status_code == 201, on.text
    return str(on.json()["secret"])


def test_turning_a_stacks_webhook_on_answers_the_secret_once_with_urls_naming_the_stack(
    client, auth, stack, log_types
):
    on = client.post(f"/api/v1/stacks/{stack}/webhook", headers=auth)

    assert on.status_code == 201, on.text
    setup = on.json()
    assert setup["secret"].startswith("rvw_")
    assert setup["urls"]["github"].endswith(f"/webhooks/stacks/github/{stack}")
    assert set(setup["urls"]) == {"github", "gitlab", "gitea", "bitbucket"}
    assert client.get(f"/api/v1/stacks/{stack}", headers=auth).json()["webhook"] is True
    assert setup["secret"] not in client.get(f"/api/v1/stacks/{stack}", headers=auth).text
    rotated = client.post(f"/api/v1/stacks/{stack}/webhook", headers=auth).json()["secret"]
    assert rotated != setup["secret"]
    assert log_types().count("stack.webhook_secret_set") == 2

    off = client.delete(f"/api/v1/stacks/{stack}/webhook", headers=auth)
    assert off.status_code == 204
    assert client.get(f"/api/v1/stacks/{stack}", headers=auth).json()["webhook"] is False
    assert "stack.webhook_disabled" in log_types()


def test_an_inline_stack_refuses_a_webhook_naming_its_missing_repository(client, auth):
    made = client.post("/api/v1/stacks", json={"name": "pasted", "compose": COMPOSE}, headers=auth)
    inline = made.json()["stack_id"]

    refused = client.post(f"/api/v1/stacks/{inline}/webhook", headers=auth)

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "inline stack has no repository" in refused.json()["detail"]
    assert "git_url" in refused.text


def test_a_stack_that_is_not_there_has_no_webhook_to_turn_on(client, auth):
    assert client.post("/api/v1/stacks/zzzzzzzzzzzz/webhook", headers=auth).status_code == 404


@pytest.mark.parametrize("provider", list(PUSHES))
def test_a_signed_push_to_the_stacks_branch_releases_that_exact_commit(
    client, call, services, auth, stack, stack_secret, webhooks, provider
):
    path, event, commit = PUSHES[provider]
    body = (webhooks / path).read_bytes()

    response = client.post(
        f"/webhooks/stacks/{provider}/{stack}",
        content=body,
        headers=signed(provider, body, stack_secret, event),
    )

    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["decision"] == "deploy"
    [requested] = releases(call, services)
    assert requested.event.commit == commit
    assert requested.event.trigger == "webhook"
    assert requested.event.release_id == answer["deployment_id"]
    assert (requested.actor, requested.resource) == (f"webhook:{provider}", stack)
    [recorded] = deliveries(call, services)
    assert (recorded.resource, recorded.team) == (stack, "default")
    assert (recorded.event.stack_id, recorded.event.app, recorded.event.app_id) == (
        stack,
        "blog",
        None,
    )
    [listed] = client.get(f"/api/v1/stacks/{stack}/webhook-deliveries", headers=auth).json()
    assert (listed["decision"], listed["commit_sha"], listed["deployment_id"]) == (
        "deploy",
        commit,
        answer["deployment_id"],
    )
    release = client.get(f"/api/v1/stacks/{stack}/releases/{answer['deployment_id']}", headers=auth)
    assert release.json()["release"]["trigger"] == "webhook"


def test_the_same_signed_body_again_is_replayed_and_releases_nothing_more(
    client, call, services, stack, stack_secret, webhooks
):
    path, event, _ = PUSHES["github"]
    body = (webhooks / path).read_bytes()
    url = f"/webhooks/stacks/github/{stack}"

    first = client.post(url, content=body, headers=signed("github", body, stack_secret, event))
    again = client.post(url, content=body, headers=signed("github", body, stack_secret, event))

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["decision"] == "replayed"
    assert "received before" in again.json()["reason"]
    assert len(releases(call, services)) == 1


def test_a_push_to_another_branch_or_a_pull_request_releases_nothing_and_says_why(
    client, call, services, auth, stack, stack_secret, webhooks
):
    other = json.loads((webhooks / "github/go-scm/push.json").read_bytes())
    other["ref"] = "refs/heads/develop"
    body = json.dumps(other).encode()
    pushed = client.post(
        f"/webhooks/stacks/github/{stack}",
        content=body,
        headers=signed("github", body, stack_secret, "push"),
    )
    opened = json.loads((webhooks / "github/octokit_pull_request_opened.payload.json").read_bytes())
    opened["pull_request"]["base"]["ref"] = "master"
    body = json.dumps(opened).encode()
    pulled = client.post(
        f"/webhooks/stacks/github/{stack}",
        content=body,
        headers=signed("github", body, stack_secret, "pull_request"),
    )

    assert (pushed.status_code, pushed.json()["decision"]) == (200, "ignored")
    assert pushed.json()["reason"] == "push to develop; blog deploys master"
    assert (pulled.status_code, pulled.json()["decision"]) == (200, "ignored")
    assert "a stack has no preview deployments" in pulled.json()["reason"]
    assert releases(call, services) == []
    listed = client.get(f"/api/v1/stacks/{stack}/webhook-deliveries", headers=auth).json()
    assert [d["decision"] for d in listed] == ["ignored", "ignored"]


def test_watch_paths_decide_whether_a_push_releases_the_stack(
    client, call, services, auth, stack, stack_secret, webhooks
):
    changed = client.patch(
        f"/api/v1/stacks/{stack}", json={"watch_paths": ["deploy/**"]}, headers=auth
    )
    assert changed.status_code == 200, changed.text
    body = (webhooks / "github/go-scm/push.json").read_bytes()

    response = client.post(
        f"/webhooks/stacks/github/{stack}",
        content=body,
        headers=signed("github", body, stack_secret, "push"),
    )

    assert response.json()["decision"] == "ignored"
    assert "watch paths (deploy/**)" in response.json()["reason"]
    assert releases(call, services) == []


def test_refusals_are_answered_and_recorded_as_an_apps_are(
    client, call, services, auth, stack, webhooks
):
    body = (webhooks / "github/go-scm/push.json").read_bytes()
    url = f"/webhooks/stacks/github/{stack}"

    off = client.post(url, content=body, headers=signed("github", body, "rvw_x", "push"))
    assert off.status_code == 403
    assert "the stack's webhook is not enabled" in off.json()["detail"]

    secret = client.post(f"/api/v1/stacks/{stack}/webhook", headers=auth).json()["secret"]
    wrong = client.post(url, content=body, headers=signed("github", body, "rvw_wrong", "push"))
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "the signature does not match the stack's secret"

    garbled = b'{"ref": '
    malformed = client.post(url, content=garbled, headers=signed("github", garbled, secret, "push"))
    assert malformed.status_code == 400
    assert "malformed payload" in malformed.json()["detail"]

    nowhere = client.post(
        "/webhooks/stacks/github/zzzzzzzzzzzz",
        content=body,
        headers=signed("github", body, secret, "push"),
    )
    assert nowhere.status_code == 404
    assert nowhere.json()["detail"] == "no such stack"
    not_an_id = client.post(
        "/webhooks/stacks/github/..%2F..",
        content=body,
        headers=signed("github", body, secret, "push"),
    )
    assert not_an_id.status_code == 404

    assert releases(call, services) == []
    refused = [e for e in deliveries(call, services) if e.event.decision == "refused"]
    assert [(e.event.signature, e.resource) for e in refused[:3]] == [
        ("no secret", stack),
        ("invalid", stack),
        ("valid", stack),
    ]
    assert all(e.event.stack_id is not None for e in refused)
    assert refused[3].resource is None  # no such stack: recorded under no resource or team
    listed = client.get(f"/api/v1/stacks/{stack}/webhook-deliveries", headers=auth).json()
    assert [d["signature"] for d in listed] == ["valid", "invalid", "no secret"]


def test_an_app_named_stacks_keeps_its_own_webhook_url(client, call, services, auth, webhooks):
    made = client.post(
        "/api/v1/apps",
        json={"name": "stacks", "git_url": "https://git.example.com/s.git", "branch": "master"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    secret = client.post("/api/v1/apps/stacks/webhook", headers=auth).json()["secret"]
    body = (webhooks / "github/go-scm/push.json").read_bytes()

    response = client.post(
        "/webhooks/github/stacks", content=body, headers=signed("github", body, secret, "push")
    )

    assert response.status_code == 202, response.text
    assert [e.type for e in call(services.store.read_all)].count("deployment.requested") == 1
    assert releases(call, services) == []


def test_a_stacks_deliveries_are_read_only_by_whoever_reads_the_stack(
    client, auth, mint, stack, member, session_headers
):
    assert client.get(f"/api/v1/stacks/{stack}/webhook-deliveries", headers=auth).json() == []
    viewer = mint("read", "reader")
    assert client.get(f"/api/v1/stacks/{stack}/webhook-deliveries", headers=viewer).json() == []
    assert client.post(f"/api/v1/stacks/{stack}/webhook", headers=viewer).status_code == 403
    member("dev@example.com", "developer")
    headers = session_headers("dev@example.com")
    refused = client.post(f"/api/v1/stacks/{stack}/webhook", headers=headers)
    assert refused.status_code == 403  # a developer edits settings; managing takes an admin
