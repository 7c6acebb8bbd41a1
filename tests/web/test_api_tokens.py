"""/api/v1/tokens: minted once, owned by the user who minted it, listed without secrets,
revoked, and refused once expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.access import SYSTEM
from rivetr.domain.events import TokenCreated
from rivetr.service.tokens import hash_secret
from rivetr.service.users import csrf_token

PASSWORD = "correct horse battery staple"


def signed_in_as(client, call, services, role: str) -> dict[str, str]:
    email = f"{role}@example.com"
    call(services.users.create, SYSTEM, email, PASSWORD, role)
    secret, _ = call(services.users.sign_in, email, PASSWORD)
    client.cookies.set("rivetr_session", secret)
    return {"X-CSRF-Token": csrf_token(secret)}


def test_a_user_mints_a_token_that_is_theirs_shown_once_and_revocable(client, call, services):
    csrf = signed_in_as(client, call, services, "admin")

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
    assert body["token"] not in client.get("/api/v1/tokens").text

    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/apps", headers=bearer).status_code == 200
    csrf = signed_in_as(client, call, services, "owner")
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


def test_a_developer_cannot_mint_tokens_and_bad_requests_are_problems(
    client, call, services, log_types
):
    csrf = signed_in_as(client, call, services, "developer")
    before = log_types()

    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=csrf).status_code == 403
    assert client.get("/api/v1/tokens").status_code == 403
    client.cookies.clear()
    csrf = signed_in_as(client, call, services, "owner")
    bad = client.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 0}, headers=csrf)
    assert bad.status_code == 400
    assert log_types()[: len(before)] == before
    assert "token.created" not in log_types()[len(before) :]
