"""/api/v1/tokens: minted once, owned by the user who minted it, listed without secrets,
revoked, and refused once expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.events import TokenCreated
from rivetr.service.commands.tokens import hash_secret


def test_a_user_mints_a_token_that_is_theirs_shown_once_and_revocable(
    client, member, session_headers
):
    member("admin@example.com", "admin")
    member("owner@example.com", "owner")
    csrf = session_headers("admin@example.com")

    minted = client.post(
        "/api/v1/tokens",
        json={"name": "ci", "scope": "deploy", "expires_in_days": 30},
        headers=csrf,
    )

    assert minted.status_code == 201, minted.text
    body = minted.json()
    assert body["token"].startswith("rvt_")
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    listed = client.get("/api/v1/tokens").json()
    mine = next(t for t in listed if t["token_id"] == body["token_id"])
    assert (mine["owner"], mine["scope"]) == ("admin@example.com", "deploy")
    assert mine["team"] == "default"
    assert body["token"] not in client.get("/api/v1/tokens").text

    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/apps", headers=bearer).status_code == 200
    csrf = session_headers("owner@example.com")
    assert client.delete(f"/api/v1/tokens/{body['token_id']}", headers=csrf).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/apps", headers=bearer).status_code == 401


def test_an_expired_token_is_refused(client, call, services):
    secret = "rvt_expired-token-secret"
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    created = TokenCreated(
        token_id="old", name="old", secret_hash=hash_secret(secret), expires_at=past
    )
    call(services.store.append, "token-old", 0, [created], EventMeta(actor="test"))

    response = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 401


def test_a_developer_mints_up_to_deploy_tokens_and_bad_requests_are_problems(
    client, member, session_headers, log_types
):
    member("developer@example.com", "developer")
    member("owner@example.com", "owner")
    csrf = session_headers("developer@example.com")
    before = log_types()

    admin = client.post("/api/v1/tokens", json={"name": "x", "scope": "admin"}, headers=csrf)
    assert admin.status_code == 403
    assert log_types() == before
    deploy = client.post("/api/v1/tokens", json={"name": "ci", "scope": "deploy"}, headers=csrf)
    assert deploy.status_code == 201
    assert [t["name"] for t in client.get("/api/v1/tokens").json()] == ["ci"]  # only their own
    csrf = session_headers("owner@example.com")
    before = log_types()
    bad = client.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 0}, headers=csrf)
    assert bad.status_code == 400
    assert "token.created" not in log_types()[len(before) :]
