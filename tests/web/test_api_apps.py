"""The /api/v1/apps routes over HTTP: every change an event, reads from the read model, bad
input a problem-details 4xx with nothing appended."""

from __future__ import annotations

import pytest

from rivetr.domain.access import SYSTEM

WEB = {
    "name": "web",
    "git_url": "https://git.example.com/me/web.git",
    "branch": "main",
    "build": {"type": "dockerfile", "dockerfile": "Dockerfile.prod", "build_args": {"V": "1"}},
    "port": 3000,
    "domains": ["web.example.com"],
    "health": {"path": "/up", "timeout_s": 2},
    "env": {"DATABASE_URL": "postgres://secret@db/web"},
}


def test_created_app_is_readable_at_once_and_hides_env_values(client, auth):
    created = client.post("/api/v1/apps", json=WEB, headers=auth)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/apps/web"
    body = created.json()
    assert body["port"] == 3000
    assert body["build"]["dockerfile"] == "Dockerfile.prod"
    assert body["health"]["path"] == "/up"
    assert body["resources"] == {"memory_mb": 512, "cpus": 1.0}
    assert body["env"] == ["DATABASE_URL"]
    assert "postgres://secret" not in created.text

    listed = client.get("/api/v1/apps", headers=auth)
    assert [app["name"] for app in listed.json()] == ["web"]
    one = client.get("/api/v1/apps/web", headers=auth)
    assert one.json() == body
    assert "postgres://secret" not in one.text


def test_every_change_is_an_event_with_the_token_as_actor(client, auth, call, services):
    app_id = client.post("/api/v1/apps", json=WEB, headers=auth).json()["id"]
    patched = client.patch(
        "/api/v1/apps/web",
        json={"port": 4000, "env": {"DATABASE_URL": None, "TOKEN": "t"}},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["port"] == 4000
    assert patched.json()["env"] == ["TOKEN"]
    deleted = client.delete("/api/v1/apps/web", headers=auth)
    assert deleted.status_code == 204
    assert (client.get("/api/v1/apps/web", headers=auth)).status_code == 404

    events = [e for e in call(services.store.read_all) if e.resource == app_id]
    assert [(e.stream_id, e.type) for e in events] == [
        (f"app-{app_id}", "app.created"),
        ("claims", "claim.name_claimed"),
        ("claims", "claim.domains_claimed"),
        (f"app-{app_id}", "app.settings_changed"),
        (f"app-{app_id}", "app.env_changed"),
        (f"app-{app_id}", "app.deleted"),
        ("claims", "claim.name_released"),
        ("claims", "claim.domains_released"),
    ]
    assert {e.actor for e in events} == {"token:tester"}


def test_patch_without_changes_appends_nothing(client, auth, log_types):
    client.post("/api/v1/apps", json=WEB, headers=auth)
    before = log_types()
    same = client.patch("/api/v1/apps/web", json={"port": 3000}, headers=auth)
    assert same.status_code == 200
    assert log_types() == before


@pytest.mark.parametrize(
    ("request_body", "status", "detail_part"),
    [
        (b"{not json", 400, "malformed"),
        (b'{"name": "web", "bogus": 1}', 400, "bogus"),
        (b'{"name": "Web_App"}', 400, "name"),
        (b'{"name": "web", "port": 70000}', 400, "port"),
        (b'{"name": "web", "domains": ["not a host"]}', 400, "domains"),
        (b'{"name": "web", "env": {"1BAD": "x"}}', 400, "env"),
        (b'{"name": "web", "health": {"timeout_s": 60}}', 422, "boot_deadline"),
        (b'{"name": "web", "resources": {"memory_mb": 4}}', 400, "memory_mb"),
        (b'{"name": "web", "resources": {"cpus": 0}}', 400, "cpus"),
        (b'{"name": "web", "resources": {"gpus": 1}}', 400, "gpus"),
        (b"[]", 400, ""),
    ],
)
def test_bad_create_is_a_problem_and_appends_nothing(
    client, auth, log_types, request_body, status, detail_part
):
    before = log_types()
    response = client.post(
        "/api/v1/apps",
        content=request_body,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert detail_part in problem["detail"].lower()
    assert log_types() == before


def test_duplicate_name_is_a_conflict(client, auth, log_types):
    client.post("/api/v1/apps", json=WEB, headers=auth)
    again = client.post("/api/v1/apps", json={"name": "web"}, headers=auth)
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/apps/ghost", {"port": 1}),
        ("DELETE", "/api/v1/apps/ghost", None),
        ("GET", "/api/v1/apps/ghost", None),
    ],
)
def test_unknown_app_is_404_problem(client, auth, log_types, method, path, body):
    before = log_types()
    response = client.request(method, path, json=body, headers=auth)
    assert response.status_code == 404
    assert "ghost" in response.json()["detail"]
    assert log_types() == before


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer rvt_wrong"}, {"Authorization": "Basic abc"}],
    ids=["missing", "unknown", "wrong-scheme"],
)
def test_api_needs_a_valid_bearer_token(client, log_types, headers):
    before = log_types()
    for method, path in [("GET", "/api/v1/apps"), ("POST", "/api/v1/apps")]:
        response = client.request(method, path, json={"name": "x"}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/problem+json")
    assert log_types() == before


def test_health_is_open_and_reports_the_engine(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["engine"]["available"] is False
    assert "engine = none" in body["engine"]["detail"]


def test_revoked_token_is_refused(client, mint, call, services):
    headers = mint(name="short-lived")
    assert client.get("/api/v1/apps", headers=headers).status_code == 200
    token = next(t for t in call(services.read.tokens.every) if t.name == "short-lived")
    call(services.tokens.revoke, SYSTEM, token.token_id)
    assert (client.get("/api/v1/apps", headers=headers)).status_code == 401


def test_read_scope_can_read_but_not_change(client, mint, log_types):
    reader = mint(scope="read", name="reader")
    assert (client.get("/api/v1/apps", headers=reader)).status_code == 200
    before = log_types()
    refused = client.post("/api/v1/apps", json={"name": "web"}, headers=reader)
    assert refused.status_code == 403
    assert "manage_apps" in refused.json()["detail"]
    assert log_types() == before


def test_openapi_schema_describes_the_app_routes(client):
    schema = (client.get("/schema/openapi.json")).json()
    assert "/api/v1/apps" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/apps"]


def test_git_credentials_are_write_only(client, auth):
    token = "ghp_write_only_0123456789"
    created = client.post(
        "/api/v1/apps", json={**WEB, "name": "private", "git_token": token}, headers=auth
    )
    assert created.status_code == 201, created.text
    assert created.json()["git_auth"] == ["token"]
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    changed = client.patch(
        "/api/v1/apps/private", json={"git_token": None, "deploy_key": key}, headers=auth
    )
    assert changed.json()["git_auth"] == ["deploy_key"]
    for response in (created, changed, client.get("/api/v1/apps", headers=auth)):
        assert token not in response.text
        assert "AAAA" not in response.text
    bad = client.patch("/api/v1/apps/private", json={"deploy_key": "not a key"}, headers=auth)
    assert bad.status_code == 400
    assert "deploy_key" in bad.text


def test_ordering_or_uploading_a_certificate_needs_app_management(client, auth, mint, log_types):
    client.post("/api/v1/apps", json={"name": "shop", "domains": ["shop.test"]}, headers=auth)
    reader = mint("read", "reader")
    before = log_types()

    ordered = client.post("/api/v1/apps/shop/certificates/shop.test/acme", headers=reader)
    uploaded = client.put(
        "/api/v1/apps/shop/certificates/shop.test",
        json={"certificate": "x", "private_key": "y"},
        headers=reader,
    )
    unknown = client.post("/api/v1/apps/nope/certificates/shop.test/acme", headers=auth)

    assert (ordered.status_code, uploaded.status_code, unknown.status_code) == (403, 403, 404)
    assert log_types() == before
