"""The /api/v1 stack and template routes: each asks the stack service (a release's steps are
written by the test, as the deployer would record them), answers what the read model says,
never a variable's value, and refuses bad input with a problem naming what is wrong."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.stack_events import StackReleaseFailed
from tests.web.releases import served_stack

PROBLEM = "application/problem+json"
MISSING = "aaaaaaaaaaaa"  # a well-formed id nothing has
COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"


def made(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "blog", "compose": COMPOSE, **fields}
    answer = client.post("/api/v1/stacks", json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_stack_is_made_read_changed_and_its_variables_never_answered(client, auth) -> None:
    route = {"service": "web", "port": 80, "domains": ["blog.example.com"]}
    stack = made(client, auth, routes=[route], variables={"DB_PASSWORD": "hunter2"})
    stack_id = stack["stack_id"]
    assert (stack["name"], stack["inline"], stack["variables"]) == ("blog", True, ["DB_PASSWORD"])
    listed = client.get("/api/v1/stacks", params={"environment": "production"}, headers=auth)
    assert [s["stack_id"] for s in listed.json()] == [stack_id]
    assert client.get("/api/v1/stacks", params={"project": "nope"}, headers=auth).json() == []
    changed = client.patch(
        f"/api/v1/stacks/{stack_id}", json={"watch_paths": ["deploy/**"]}, headers=auth
    )
    assert changed.json()["watch_paths"] == ["deploy/**"]
    set_ = client.put(
        f"/api/v1/stacks/{stack_id}/variables",
        json={"variables": {"API_KEY": "s3cret", "DB_PASSWORD": None}},
        headers=auth,
    )
    assert set_.json()["variables"] == ["API_KEY"]
    for answer in (stack, changed.json(), set_.json()):
        assert "hunter2" not in str(answer)
        assert "s3cret" not in str(answer)


def test_bad_input_is_refused_naming_what_is_wrong(client, auth) -> None:
    both = client.post(
        "/api/v1/stacks",
        json={"name": "b", "compose": COMPOSE, "git_url": "https://g.example/x.git"},
        headers=auth,
    )
    assert (both.status_code, both.headers["content-type"]) == (422, PROBLEM)
    assert "exactly one" in both.text
    escape = client.post(
        "/api/v1/stacks",
        json={"name": "b", "git_url": "https://g.example/x.git", "compose_path": "../x.yml"},
        headers=auth,
    )
    assert escape.status_code == 400
    assert "compose_path" in escape.text
    huge = client.post(
        "/api/v1/stacks", json={"name": "b", "compose": "x" * (1024 * 1024 + 1)}, headers=auth
    )
    assert huge.status_code in (400, 413)
    assert client.get(f"/api/v1/stacks/{MISSING}", headers=auth).status_code == 404
    assert client.get("/api/v1/stacks/NOT-AN-ID", headers=auth).status_code == 400
    local = client.post(
        "/api/v1/stacks", json={"name": "b", "git_url": "file:///etc"}, headers=auth
    )
    assert local.status_code in (400, 422)
    assert "git_url" in local.text


def test_a_release_is_followed_service_by_service_and_rolled_back_to(
    client, auth, call, services
) -> None:
    stack_id, served = call(served_stack, services, "default")
    releases = client.get(f"/api/v1/stacks/{stack_id}/releases", headers=auth).json()
    assert [r["status"] for r in releases] == ["live"]
    one = client.get(f"/api/v1/stacks/{stack_id}/releases/{served}", headers=auth).json()
    assert [s["service"] for s in one["services"]] == ["web"]
    assert [s["step"] for s in one["steps"]][-2:] == ["service_ready", "switched"]
    web = client.get(
        f"/api/v1/stacks/{stack_id}/releases/{served}", params={"service": "web"}, headers=auth
    ).json()
    assert {s["service"] for s in web["steps"]} == {"web"}
    nope = client.get(
        f"/api/v1/stacks/{stack_id}/releases/{served}", params={"service": "db"}, headers=auth
    )
    assert nope.status_code == 404

    deployed = client.post(f"/api/v1/stacks/{stack_id}/deploy", headers=auth)
    assert deployed.status_code == 202, deployed.text
    fresh = deployed.json()["release_id"]
    failed = StackReleaseFailed(release_id=fresh, step="read", reason="services.web: bad")
    meta = EventMeta(actor="system:stacks", team="default", resource=stack_id)
    call(services.store.append, f"stack-release-{fresh}", None, [failed], meta)
    never = client.post(f"/api/v1/stacks/{stack_id}/rollback", json={"to": fresh}, headers=auth)
    assert never.status_code == 422
    assert "never served" in never.text
    back = client.post(f"/api/v1/stacks/{stack_id}/rollback", json={"to": served}, headers=auth)
    assert back.status_code == 202, back.text
    assert back.json()["release"]["rollback_of"] == served
    logs = client.get(f"/api/v1/stacks/{stack_id}/services/web/logs", headers=auth)
    assert logs.status_code == 503  # no engine here


def test_the_catalogue_is_searched_by_words_and_category_and_a_template_deployed(
    client, auth
) -> None:
    every = client.get("/api/v1/templates", headers=auth).json()
    assert len(every) >= 30
    found = client.get("/api/v1/templates", params={"q": "git forge"}, headers=auth).json()
    assert "gitea" in [t["slug"] for t in found]
    monitoring = client.get(
        "/api/v1/templates", params={"category": "monitoring"}, headers=auth
    ).json()
    assert monitoring
    assert {t["category"] for t in monitoring} == {"monitoring"}
    detail = client.get("/api/v1/templates/gitea", headers=auth).json()
    assert "services:" in detail["compose"]
    assert detail["template"]["expose"]["service"] == "gitea"
    logo = client.get("/api/v1/templates/gitea/logo.svg", headers=auth)
    assert logo.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in logo.content
    no_domain = client.post("/api/v1/templates/gitea/deploy", json={}, headers=auth)
    assert no_domain.status_code == 422
    assert "domain" in no_domain.text
    made_ = client.post(
        "/api/v1/templates/gitea/deploy",
        json={"domain": "git.example.com", "name": "forge"},
        headers=auth,
    )
    assert made_.status_code == 201, made_.text
    answer = made_.json()
    assert set(answer["generated"]) == {"POSTGRES_PASSWORD", "SECRET_KEY"}
    stack = answer["stack"]
    assert (stack["name"], stack["template"]) == ("forge", "gitea")
    assert stack["routes"] == [{"service": "gitea", "port": 3000, "domains": ["git.example.com"]}]
    assert sorted(stack["variables"]) == ["DOMAIN", "POSTGRES_PASSWORD", "SECRET_KEY", "URL"]
    assert stack["last_status"] == "requested"
    again = client.get(f"/api/v1/stacks/{stack['stack_id']}", headers=auth).json()
    assert answer["generated"]["POSTGRES_PASSWORD"] not in str(again)
    unknown = client.post(
        "/api/v1/templates/gitea/deploy",
        json={"domain": "g2.example.com", "name": "f2", "values": {"NOPE": "x"}},
        headers=auth,
    )
    assert unknown.status_code == 422
    assert "NOPE" in unknown.text
    assert client.get("/api/v1/templates/nope", headers=auth).status_code == 404


def test_another_teams_stack_is_absent_to_a_stranger(client, auth, member, session_headers) -> None:
    stack = made(client, auth)
    member("eve@example.com", "owner", "evil")
    headers = session_headers("eve@example.com")
    assert client.get(f"/api/v1/stacks/{stack['stack_id']}", headers=headers).status_code == 404
    assert client.get("/api/v1/stacks", headers=headers).json() == []
    deploy = client.post(f"/api/v1/stacks/{stack['stack_id']}/deploy", headers=headers)
    assert deploy.status_code in (403, 404)
