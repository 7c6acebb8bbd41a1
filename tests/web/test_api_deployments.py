"""The deployment routes over HTTP, without an engine: a request is accepted at once (202) and
then fails for want of an engine; bad input is a problem-details 4xx with nothing appended."""

from __future__ import annotations

import json
import time

import pytest

APP = {"name": "web", "git_url": "https://git.example.com/me/web.git", "port": 3000}


@pytest.fixture
def app(client, auth):
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    return "web"


def settled(client, auth, deployment_id: str) -> dict:
    """The deployment once the pipeline has run (here: failed for want of an engine)."""
    for _ in range(100):
        detail = client.get(f"/api/v1/deployments/{deployment_id}", headers=auth).json()
        if detail["deployment"]["status"] != "requested":
            return detail
        time.sleep(0.05)
    raise AssertionError(f"{deployment_id} still requested")


def test_a_deployment_request_is_accepted_at_once_with_its_url(client, auth, app):
    response = client.post("/api/v1/apps/web/deployments", json={"commit": "abc1234"}, headers=auth)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "requested"
    assert (
        response.headers["location"]
        == body["url"]
        == f"/api/v1/deployments/{body['deployment_id']}"
    )
    detail = settled(client, auth, body["deployment_id"])
    assert detail["deployment"]["commit"] == "abc1234"
    assert detail["deployment"]["requested_by"] == "token:tester"
    assert detail["deployment"]["status"] == "failed"
    assert "engine is unavailable" in detail["deployment"]["failure_reason"]
    assert [s["type"] for s in detail["steps"]] == ["deployment.requested", "deployment.failed"]
    assert detail["live"] is False
    listed = client.get("/api/v1/apps/web/deployments", headers=auth).json()
    assert [d["id"] for d in listed] == [body["deployment_id"]]


def test_cancelling_an_ended_deployment_is_refused_and_appends_nothing(
    client, auth, app, log_types
):
    deployment_id = client.post("/api/v1/apps/web/deployments", json={}, headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)
    before = log_types()

    response = client.post(f"/api/v1/deployments/{deployment_id}/cancel", headers=auth)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "already ended: failed" in response.json()["detail"]
    assert log_types() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("POST", "/api/v1/apps/ghost/deployments", {}, 404, "ghost"),
        ("POST", "/api/v1/apps/web/deployments", {"commit": "not a sha"}, 400, "commit"),
        ("POST", "/api/v1/apps/web/deployments", {"branch": "x"}, 400, "branch"),
        ("GET", "/api/v1/deployments/nope", None, 404, "nope"),
        ("POST", "/api/v1/deployments/nope/cancel", None, 404, "nope"),
        ("GET", "/api/v1/deployments/nope/logs", None, 404, "nope"),
        ("POST", "/api/v1/apps/web/rollback", {}, 422, "no earlier release"),
        ("POST", "/api/v1/apps/web/rollback", {"to": "nope"}, 404, "nope"),
    ],
)
def test_bad_deployment_requests_are_problems_and_append_nothing(
    client, auth, app, log_types, method, path, body, status, says
):
    before = log_types()

    response = client.request(method, path, json=body, headers=auth)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert says in response.text
    assert log_types() == before


def test_a_read_token_cannot_deploy_roll_back_or_cancel(client, mint, app, log_types):
    reader = mint("read", "reader")
    before = log_types()

    for path, status in (
        ("/api/v1/apps/web/deployments", 403),
        ("/api/v1/apps/web/rollback", 403),
        ("/api/v1/deployments/any/cancel", 404),  # no such deployment, whoever asks
    ):
        response = client.post(path, json={}, headers=reader)
        assert response.status_code == status, (path, response.text)
    assert log_types() == before


def sse(response) -> list[dict[str, str]]:
    """The messages of a finished SSE response."""
    found, message = [], {}
    for line in response.text.splitlines():
        if not line:
            if message:
                found.append(message)
            message = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            message[field] = value.removeprefix(" ")
    if message:
        found.append(message)
    return found


def test_a_deployments_log_streams_line_by_line_resumes_and_ends(client, auth, app, services):
    accepted = client.post("/api/v1/apps/web/deployments", headers=auth).json()
    deployment_id = accepted["deployment_id"]
    settled(client, auth, deployment_id)
    services.logs.append("web", deployment_id, "build", "Step 1/2\n\x1b[32mdone\x1b[0m")
    url = f"/api/v1/deployments/{deployment_id}/logs/stream"

    everything = sse(client.get(url, headers=auth))
    lines = [json.loads(m["data"]) for m in everything if m.get("event") == "log"]
    assert [m["id"] for m in everything if m.get("event") == "log"] == [
        str(n) for n in range(1, len(lines) + 1)
    ]
    assert {"line": len(lines), "source": "build", "text": "\x1b[32mdone\x1b[0m"} == lines[-1]
    assert everything[-1] == {"event": "end", "data": "failed"}

    resumed = sse(client.get(url, headers={**auth, "Last-Event-ID": str(len(lines) - 1)}))
    assert [m.get("id") for m in resumed] == [str(len(lines)), None]
    assert [m["event"] for m in sse(client.get(url, params={"start": "end"}, headers=auth))] == [
        "end"
    ]
    bad = client.get(url, headers={**auth, "Last-Event-ID": "x"})
    assert bad.status_code == 400
    assert client.get("/api/v1/deployments/nope/logs/stream", headers=auth).status_code == 404
