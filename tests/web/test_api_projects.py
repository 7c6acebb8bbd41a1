"""The /api/v1/projects routes and moving an app over HTTP: each change an event through the
project service, reads only of the teams the caller reads, and bad input a problem naming
what is wrong (what a project still holds; the project or environment that is not there)."""

from __future__ import annotations

from rivetr.domain.access import SYSTEM
from tests.web.test_api_deployments import settled

PROBLEM = "application/problem+json"
GIT = "https://git.example.com/web.git"


def test_a_project_is_made_listed_and_read_with_its_environments_and_apps(
    client, auth, call, services
) -> None:
    made = client.post(
        "/api/v1/projects",
        json={"project": "shop", "name": "Shop", "environments": ["staging"]},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/api/v1/projects/default/shop"
    body = made.json()
    assert (body["team"], body["project"], body["name"]) == ("default", "shop", "Shop")
    assert [e["environment"] for e in body["environments"]] == ["production", "staging"]

    app = client.post(
        "/api/v1/apps",
        json={"name": "web", "git_url": GIT, "project": "shop", "environment": "staging"},
        headers=auth,
    )
    assert app.status_code == 201, app.text
    assert (app.json()["project"], app.json()["environment"]) == ("shop", "staging")
    deployment_id = call(services.deployments.request, SYSTEM, "web")
    status = settled(client, auth, deployment_id)["deployment"]["status"]  # (no engine: failed)

    listed = client.get("/api/v1/projects", headers=auth).json()
    assert [(p["team"], p["project"]) for p in listed] == [
        ("default", "default"),
        ("default", "shop"),
    ]
    [production, staging] = listed[1]["environments"]
    assert production["resources"] == []
    [web] = staging["resources"]
    assert (web["kind"], web["name"], web["id"]) == ("app", "web", app.json()["id"])
    assert web["latest_deployment"] == deployment_id
    assert web["latest_status"] == status  # as the deployment itself says
    assert web["live_deployment"] is None

    one = client.get("/api/v1/projects/default/shop", headers=auth)
    assert one.json() == listed[1]


def test_an_environment_is_added_and_deleted_and_each_change_is_an_event(
    client, auth, log_types
) -> None:
    client.post("/api/v1/projects", json={"project": "shop"}, headers=auth)
    added = client.post(
        "/api/v1/projects/default/shop/environments", json={"environment": "qa"}, headers=auth
    )
    assert added.status_code == 201, added.text
    assert [e["environment"] for e in added.json()["environments"]] == ["production", "qa"]
    gone = client.delete("/api/v1/projects/default/shop/environments/qa", headers=auth)
    assert gone.status_code == 204
    deleted = client.delete("/api/v1/projects/default/shop", headers=auth)
    assert deleted.status_code == 204
    assert client.get("/api/v1/projects/default/shop", headers=auth).status_code == 404
    assert [t for t in log_types() if t.startswith("project.")] == [
        "project.created",
        "project.environment_created",
        "project.environment_deleted",
        "project.deleted",
    ]


def test_deleting_what_still_holds_an_app_is_refused_naming_it(client, auth, log_types) -> None:
    client.post(
        "/api/v1/projects", json={"project": "shop", "environments": ["staging"]}, headers=auth
    )
    client.post(
        "/api/v1/apps",
        json={"name": "web", "project": "shop", "environment": "staging"},
        headers=auth,
    )
    before = log_types()
    environment = client.delete("/api/v1/projects/default/shop/environments/staging", headers=auth)
    assert environment.status_code == 422
    assert environment.headers["content-type"].startswith(PROBLEM)
    assert "environment 'staging' still holds app web" in environment.json()["detail"]
    project = client.delete("/api/v1/projects/default/shop", headers=auth)
    assert project.status_code == 422
    assert "still holds app web (in staging)" in project.json()["detail"]
    production = client.delete(
        "/api/v1/projects/default/shop/environments/production", headers=auth
    )
    assert production.status_code == 422
    assert log_types() == before


def test_unknown_projects_and_environments_are_404_and_bad_slugs_400(client, auth) -> None:
    assert client.get("/api/v1/projects/default/nope", headers=auth).status_code == 404
    assert client.delete("/api/v1/projects/default/nope", headers=auth).status_code == 404
    missing_env = client.delete("/api/v1/projects/default/default/environments/qa", headers=auth)
    assert missing_env.status_code == 404
    assert "no environment 'qa'" in missing_env.json()["detail"]
    bad = client.post("/api/v1/projects", json={"project": "Not A Slug"}, headers=auth)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith(PROBLEM)
    again = client.post("/api/v1/projects", json={"project": "default"}, headers=auth)
    assert again.status_code == 409
    unknown_field = client.post(
        "/api/v1/projects", json={"project": "x", "colour": "red"}, headers=auth
    )
    assert unknown_field.status_code == 400
    nowhere = client.post("/api/v1/apps", json={"name": "web", "project": "shop"}, headers=auth)
    assert nowhere.status_code == 404
    assert "no project 'shop'" in nowhere.json()["detail"]


def test_an_app_moves_between_environments_and_not_to_one_that_is_not_there(
    client, auth, log_types
) -> None:
    client.post(
        "/api/v1/projects", json={"project": "shop", "environments": ["staging"]}, headers=auth
    )
    client.post("/api/v1/apps", json={"name": "web"}, headers=auth)
    moved = client.post(
        "/api/v1/apps/web/move", json={"project": "shop", "environment": "staging"}, headers=auth
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["project"], moved.json()["environment"]) == ("shop", "staging")
    assert log_types()[-1] == "app.moved"
    nowhere = client.post(
        "/api/v1/apps/web/move", json={"project": "shop", "environment": "qa"}, headers=auth
    )
    assert nowhere.status_code == 404
    assert "no environment 'qa' in project 'shop'" in nowhere.json()["detail"]
    no_app = client.post(
        "/api/v1/apps/nope/move", json={"project": "shop", "environment": "qa"}, headers=auth
    )
    assert no_app.status_code == 404


def test_a_member_sees_only_the_projects_of_their_teams_and_changes_none_elsewhere(
    client, call, services, member, session_headers, log_types
) -> None:
    member("ann@example.com", "owner", "acme")
    member("mal@example.com", "viewer", "globex")
    ann = session_headers("ann@example.com")
    made = client.post("/api/v1/projects", json={"team": "acme", "project": "shop"}, headers=ann)
    assert made.status_code == 201, made.text

    mal = session_headers("mal@example.com")
    seen = client.get("/api/v1/projects", headers=mal).json()
    assert {p["team"] for p in seen} == {"globex"}
    assert client.get("/api/v1/projects/acme/shop", headers=mal).status_code == 404
    before = log_types()
    refused = client.delete("/api/v1/projects/acme/shop", headers=mal)
    assert refused.status_code == 403
    viewer = client.post("/api/v1/projects", json={"project": "mine"}, headers=mal)
    assert viewer.status_code == 403
    assert log_types() == before
