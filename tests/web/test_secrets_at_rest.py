"""Env values and git credentials are sealed before they reach the event log, and come back out
only where they are used."""

from __future__ import annotations

from rivetr.domain.access import SYSTEM
from rivetr.service.apps import load_app
from rivetr.service.secrets import open_app

SECRET = "postgres://web:hunter2-db-pass@db/web"
TOKEN = "ghp_sealedtoken0123456789"


def logged_bytes(call, services) -> bytes:
    return b"\n".join(event.data for event in call(services.store.read_all))


def test_secrets_never_reach_the_log_in_plain_text(client, auth, call, services):
    body = {"name": "web", "env": {"DATABASE_URL": SECRET}, "git_token": TOKEN}
    assert client.post("/api/v1/apps", json=body, headers=auth).status_code == 201

    logged = logged_bytes(call, services)
    assert SECRET.encode() not in logged
    assert TOKEN.encode() not in logged
    assert b"rvs1:" in logged
    app = call(load_app, services.store, "web")
    opened = open_app(services.secrets, app)
    assert (opened.env["DATABASE_URL"], opened.git_token) == (SECRET, TOKEN)


def test_sending_the_same_secret_again_appends_nothing(client, auth, log_types):
    body = {"name": "web", "env": {"DATABASE_URL": SECRET}}
    client.post("/api/v1/apps", json=body, headers=auth)
    before = log_types()

    again = client.patch("/api/v1/apps/web", json={"env": {"DATABASE_URL": SECRET}}, headers=auth)

    assert again.status_code == 200
    assert log_types() == before


def test_after_a_rotation_every_secret_is_sealed_again_with_the_new_key(
    client, auth, call, services, log_types
):
    body = {"name": "web", "env": {"A": "one", "B": "two"}, "git_token": TOKEN}
    client.post("/api/v1/apps", json=body, headers=auth)
    old_key = services.secrets.current_key_id

    new_key = services.secrets.rotate()
    appended = call(services.apps.reseal, SYSTEM, "web")

    assert appended == 2  # the env values, the credentials
    assert log_types()[-2:] == ["app.env_changed", "app.git_credentials_changed"]
    app = call(load_app, services.store, "web")
    assert all(value.startswith(f"rvs1:{new_key}:") for value in app.env.values())
    assert app.git_token.startswith(f"rvs1:{new_key}:")
    assert new_key != old_key
    assert open_app(services.secrets, app).env == {"A": "one", "B": "two"}
    assert call(services.apps.reseal, SYSTEM, "web") == 0  # nothing left to seal again
