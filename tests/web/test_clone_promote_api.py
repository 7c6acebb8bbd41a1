"""Cloning an environment and promoting a release over HTTP: the clone's answer and events, a
refusal that names every clash and appends nothing, and the promotions refused before any
deployment is requested."""

from __future__ import annotations

import msgspec

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp

CLONE = "/api/v1/projects/default/default/environments/production/clone"
STAGING = {
    "to_environment": "staging",
    "create_environment": True,
    "name_pattern": "{name}-staging",
    "domain_pattern": "{sub}.staging.{zone}",
}


def make(client, auth, name: str, domains: list[str], **more) -> None:
    body = {"name": name, "git_url": "https://git.example.com/web.git", "domains": domains}
    made = client.post("/api/v1/apps", json=body | more, headers=auth)
    assert made.status_code == 201, made.text


def test_a_clone_answers_what_it_made_and_records_it_once(client, auth, call, services):
    make(client, auth, "web", ["shop.example.com"], env={"KEY": "v"})
    make(client, auth, "api", [])

    response = client.post(CLONE, json=STAGING, headers=auth)

    assert response.status_code == 201, response.text
    assert response.json() == {
        "team": "default",
        "project": "default",
        "environment": "staging",
        "from_project": "default",
        "from_environment": "production",
        "apps": [
            {"from_app": "api", "app": "api-staging", "domains": []},
            {"from_app": "web", "app": "web-staging", "domains": ["shop.staging.example.com"]},
        ],
    }
    copy = client.get("/api/v1/apps/web-staging", headers=auth).json()
    assert (copy["project"], copy["environment"], copy["env"]) == ("default", "staging", ["KEY"])
    events = call(services.store.read_all)
    cloned = [e for e in events if e.type == "project.environment_cloned"]
    assert len(cloned) == 1
    body = msgspec.json.decode(cloned[0].data)
    assert [(r["from_name"], r["name"]) for r in body["resources"]] == [
        ("api", "api-staging"),
        ("web", "web-staging"),
    ]
    created = [e for e in events if e.type == "app.created"][2:]
    assert [e.resource for e in created] == [r["id"] for r in body["resources"]]
    assert [e.position for e in created] < [cloned[0].position]  # one append, the clone last


def test_a_clone_that_clashes_names_every_clash_and_appends_nothing(client, auth, log_types):
    make(client, auth, "web", ["shop.example.com", "*.example.com"])
    make(client, auth, "web-staging", [], project="default")
    before = log_types()

    response = client.post(CLONE, json=STAGING, headers=auth)

    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "the copy of 'web' would be named 'web-staging'" in detail
    assert "the copy of 'web-staging' would be named 'web-staging-staging'" not in detail
    assert "nothing was created" in detail
    assert log_types() == before


def test_a_clone_with_a_bad_pattern_or_target_is_refused(client, auth, log_types):
    make(client, auth, "web", ["shop.example.com"])
    before = log_types()

    for body, status, says in (
        (STAGING | {"name_pattern": "{app}-x"}, 422, "unknown placeholder {app}"),
        (STAGING | {"name_pattern": "{name}_x"}, 422, "'web_x', not a DNS label"),
        (STAGING | {"create_environment": False}, 404, "no environment 'staging'"),
        (STAGING | {"to_project": "nope"}, 404, "no project 'nope'"),
        (STAGING | {"to_environment": "production"}, 422, "cannot be cloned into itself"),
        ({"to_environment": "Bad"}, 400, "to_environment"),
    ):
        response = client.post(CLONE, json=body, headers=auth)
        assert response.status_code == status, (body, response.text)
        assert says in response.json()["detail"], response.text
    assert log_types() == before


def test_promotions_that_cannot_be_are_refused_before_any_request(
    client, auth, call, services, log_types
):
    make(client, auth, "web", [])
    assert client.post(CLONE, json=STAGING, headers=auth).status_code == 201
    call(services.teams.create, SYSTEM, "acme", "Acme", "someone")
    call(services.apps.handle, SYSTEM, CreateApp(name="theirs", team="acme"))
    before = log_types()

    for body, status, says in (
        ({}, 422, "'web-staging' has no live release"),
        ({"from_app": "ghost"}, 404, "no application named 'ghost'"),
        ({"from_app": "theirs"}, 422, "within its team only"),
        ({"from_app": "web"}, 422, "promoted from another application"),
    ):
        response = client.post("/api/v1/apps/web/promote", json=body, headers=auth)
        assert response.status_code == status, (body, response.text)
        assert says in response.json()["detail"], response.text
    assert client.post("/api/v1/apps/ghost/promote", headers=auth).status_code == 404
    assert log_types() == before
