"""Every payload in ../shared/vectors/webhooks, signed the way its host signs it, through the
real HTTP endpoint: each is accepted (never a 4xx or 5xx), recorded with the ref, commit and
pull request the parser reads, and decided as the domain says for an app on that branch."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters import webhooks
from rivetr.domain.application import AppState
from rivetr.domain.webhooks import judge
from tests.unit.adapters.test_webhook_parsing import PAYLOADS, _cases, _found
from tests.web.test_webhooks import signed

NAMES = [name for name in _found("**/*.json") if name in PAYLOADS]


@pytest.mark.parametrize("name", _cases(NAMES))
def test_each_vector_payload_signed_and_delivered(client, auth, vectors_dir: Path, name: str):
    provider = name.split("/")[0]
    event = PAYLOADS[name][0]
    body = (vectors_dir / "webhooks" / name).read_bytes()
    header_key = {
        "github": "x-github-event",
        "gitlab": "x-gitlab-event",
        "gitea": "x-gitea-event",
        "bitbucket": "x-event-key",
    }[provider]
    hook = webhooks.parse(provider, {header_key: event}, body)
    branch = hook.branch or hook.pr_target_branch or "main"
    made = client.post(
        "/api/v1/apps",
        json={"name": "web", "branch": branch, "previews": True, "git_url": "https://g.test/r"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    secret = client.post("/api/v1/apps/web/webhook", headers=auth).json()["secret"]
    app = AppState(app_id=made.json()["id"], name="web", exists=True, branch=branch, previews=True)
    expected = judge(app, hook)

    response = client.post(
        f"/webhooks/{provider}/web", content=body, headers=signed(provider, body, secret, event)
    )

    assert response.status_code in (200, 202), response.text
    assert response.json()["decision"] == expected.decision
    [delivery] = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert (delivery["signature"], delivery["decision"], delivery["reason"]) == (
        "valid",
        expected.decision,
        expected.reason,
    )
    assert (delivery["ref"], delivery["commit_sha"], delivery["pr_number"]) == (
        hook.ref,
        hook.commit_sha,
        hook.pr_number,
    )
