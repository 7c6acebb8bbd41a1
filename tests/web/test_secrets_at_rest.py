"""Env values and git credentials are sealed before they reach the event log, and come back out
only where they are used."""

from __future__ import annotations

from rivetr.domain.access import SYSTEM
from rivetr.service.commands.secrets import open_app, open_webhook_secret

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
    assert b"rvs2:" in logged
    app = call(services.lookup.by_name, "web")
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
    hook_secret = client.post("/api/v1/apps/web/webhook", headers=auth).json()["secret"]
    old_key = services.secrets.current_key_id

    new_key = services.secrets.rotate()
    appended = call(services.apps.reseal, SYSTEM, "web")

    assert appended == 3  # the env values, the credentials, the webhook secret
    assert log_types()[-3:] == [
        "app.env_changed",
        "app.git_credentials_changed",
        "app.webhook_secret_set",
    ]
    assert not call(services.store.read_all)[-1].event.rotated  # the same secret, resealed
    app = call(services.lookup.by_name, "web")
    assert all(value.startswith(f"rvs2:{new_key}:") for value in app.env.values())
    assert app.git_token.startswith(f"rvs2:{new_key}:")
    assert app.webhook_secret.startswith(f"rvs2:{new_key}:")
    assert open_webhook_secret(services.secrets, app) == hook_secret
    assert new_key != old_key
    assert open_app(services.secrets, app).env == {"A": "one", "B": "two"}
    assert call(services.apps.reseal, SYSTEM, "web") == 0  # nothing left to seal again


def test_a_viewer_sees_names_but_no_secret_value_in_any_page_or_response(
    client, member, session_headers, call, services
):
    member("ann@example.com", "owner")
    member("vic@example.com", "viewer")
    owner = session_headers("ann@example.com")
    values = {"STRIPE_KEY": "sk_live_viewer_must_not_see", "DB_PASSWORD": "hunter2-hunter2"}
    made = client.post(
        "/api/v1/apps",
        json={"name": "shop", "env": values, "git_token": "ghp_token_viewer_must_not_see"},
        headers=owner,
    )
    assert made.status_code == 201, made.text

    session_headers("vic@example.com")
    pages = [
        client.get(path).text
        for path in (
            "/",
            "/api/v1/apps",
            "/api/v1/apps/shop",
            "/api/v1/apps/shop/deployments",
            "/api/v1/teams/default",
            "/api/v1/tokens",
            "/api/v1/sessions",
        )
    ]

    assert "STRIPE_KEY" in pages[2]  # the names are shown
    secrets = [*values.values(), "ghp_token_viewer_must_not_see"]
    assert not [s for s in secrets for page in pages if s in page]
    assert not [s for s in secrets if s in str(call(services.store.read_all))]
