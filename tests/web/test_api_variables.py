"""Shared variables through the API: names on GET, values write-only and sealed in the log,
null removes one, a change answers which apps take it up, and each place exists and belongs to
a team the caller reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateEnvironment, CreateProject
from rivetr.service.commands.variables import open_shared, place

SECRET = "hunter2-shared-password"
TEAM = "/api/v1/teams/default/variables"
PROJECT = "/api/v1/projects/default/shop/variables"
STAGING = "/api/v1/projects/default/shop/environments/staging/variables"


def shop(call: Callable[..., Any], services: Any) -> None:
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="shop"))
    call(
        services.projects.run,
        SYSTEM,
        CreateEnvironment(team="default", project="shop", environment="staging"),
    )


def test_values_are_write_only_and_sealed_for_their_place(
    client: TestClient[Any], auth: dict[str, str], call: Callable[..., Any], services: Any
) -> None:
    changed = client.patch(TEAM, json={"variables": {"DB_PASSWORD": SECRET}}, headers=auth)

    assert changed.status_code == 200
    assert changed.json() == {
        "team": "default",
        "project": None,
        "environment": None,
        "set": ["DB_PASSWORD"],
        "unset": [],
        "apps": [],
        "scoped": [],
    }
    listed = client.get(TEAM, headers=auth)
    assert listed.json() == {
        "team": "default",
        "project": None,
        "environment": None,
        "names": ["DB_PASSWORD"],
        "scopes": [
            {
                "name": "DB_PASSWORD",
                "build": False,
                "runtime": True,
                "preview": True,
                "preview_value": False,
            }
        ],
    }
    assert SECRET not in listed.text
    logged = b"\n".join(e.data for e in call(services.store.read_all))
    assert SECRET.encode() not in logged
    (event,) = [e.event for e in call(services.store.read_stream, "team-default")]
    assert open_shared(services.secrets, place("default"), event.set) == {"DB_PASSWORD": SECRET}


def test_null_removes_a_variable(client: TestClient[Any], auth: dict[str, str]) -> None:
    client.patch(TEAM, json={"variables": {"A": "1", "B": "2"}}, headers=auth)

    removed = client.patch(TEAM, json={"variables": {"A": None, "NEVER": None}}, headers=auth)

    assert (removed.json()["set"], removed.json()["unset"]) == ([], ["A"])
    assert client.get(TEAM, headers=auth).json()["names"] == ["B"]


def test_project_and_environment_variables_are_apart(
    client: TestClient[Any], auth: dict[str, str], call: Callable[..., Any], services: Any
) -> None:
    shop(call, services)
    client.patch(PROJECT, json={"variables": {"P": "1"}}, headers=auth)
    client.patch(STAGING, json={"variables": {"E": "${{project.P}}"}}, headers=auth)

    assert client.get(PROJECT, headers=auth).json()["names"] == ["P"]
    staging = client.get(STAGING, headers=auth).json()
    assert (staging["project"], staging["environment"], staging["names"]) == (
        "shop",
        "staging",
        ["E"],
    )
    production = "/api/v1/projects/default/shop/environments/production/variables"
    assert client.get(production, headers=auth).json()["names"] == []


def test_a_change_lists_the_apps_that_take_it_up(
    client: TestClient[Any], auth: dict[str, str], call: Callable[..., Any], services: Any
) -> None:
    shop(call, services)
    for name, env in [("web", {"URL": "${{environment.HOST}}"}), ("api", {"URL": "x"})]:
        body = {"name": name, "env": env, "project": "shop", "environment": "staging"}
        assert client.post("/api/v1/apps", json=body, headers=auth).status_code == 201
    body = {"name": "old", "env": {"URL": "${{environment.HOST}}"}}  # in default/production
    client.post("/api/v1/apps", json=body, headers=auth)

    changed = client.patch(STAGING, json={"variables": {"HOST": "db"}}, headers=auth)

    assert changed.json()["apps"] == ["web"]


def test_a_sealed_value_is_refused(client: TestClient[Any], auth: dict[str, str]) -> None:
    answer = client.patch(TEAM, json={"variables": {"A": "rvs2:abcd:xyz"}}, headers=auth)

    assert answer.status_code == 422
    assert client.get(TEAM, headers=auth).json()["names"] == []


def test_places_that_do_not_exist_are_not_found(
    client: TestClient[Any], auth: dict[str, str], call: Callable[..., Any], services: Any
) -> None:
    shop(call, services)
    for path in [
        "/api/v1/teams/nope/variables",
        "/api/v1/projects/default/nope/variables",
        "/api/v1/projects/default/shop/environments/nope/variables",
    ]:
        assert client.get(path, headers=auth).status_code == 404, path
        answer = client.patch(path, json={"variables": {"A": "1"}}, headers=auth)
        assert answer.status_code == 404, path
    default_production = "/api/v1/projects/default/default/environments/production/variables"
    assert client.get(default_production, headers=auth).status_code == 200


def test_a_viewer_reads_names_and_changes_nothing(
    client: TestClient[Any],
    member: Callable[..., str],
    session_headers: Callable[[str], dict[str, str]],
) -> None:
    member("viewer@example.com", "viewer")
    headers = session_headers("viewer@example.com")

    assert client.get(TEAM).status_code == 200
    assert client.patch(TEAM, json={"variables": {"A": "1"}}, headers=headers).status_code == 403


def test_another_teams_variables_are_absent(
    client: TestClient[Any],
    member: Callable[..., str],
    session_headers: Callable[[str], dict[str, str]],
) -> None:
    member("dev@example.com", "developer", "zeta")
    session_headers("dev@example.com")

    assert client.get(TEAM).status_code == 404
    assert client.get("/api/v1/teams/zeta/variables").status_code == 200


def test_a_rotation_seals_every_shared_variable_again(
    client: TestClient[Any], auth: dict[str, str], call: Callable[..., Any], services: Any
) -> None:
    shop(call, services)
    client.patch(TEAM, json={"variables": {"T": "t"}}, headers=auth)
    client.patch(PROJECT, json={"variables": {"P": "p"}}, headers=auth)
    client.patch(STAGING, json={"variables": {"E": "e"}}, headers=auth)
    new_key = services.secrets.rotate()

    assert call(services.variables.reseal, SYSTEM) == 3
    assert call(services.variables.reseal, SYSTEM) == 0  # sealed with the newest key already

    scopes = call(services.variables.shared.scopes, "default", "shop", "staging")
    assert scopes == {"team": {"T": "t"}, "project": {"P": "p"}, "environment": {"E": "e"}}
    (*_, last) = call(services.store.read_stream, "team-default")
    assert all(value.startswith(f"rvs2:{new_key}:") for value in last.event.set.values())


def test_scopes_and_preview_values_are_set_and_listed_never_the_value(
    client: TestClient[Any], auth: dict[str, str], call: Callable[..., Any], services: Any
) -> None:
    body = {
        "variables": {"NPM": "npm-token"},
        "scopes": {"NPM": {"build": True, "runtime": False}},
        "preview": {"NPM": "preview-token"},
    }
    changed = client.patch(TEAM, json=body, headers=auth).json()
    assert (changed["set"], changed["scoped"]) == (["NPM"], ["NPM"])

    (scope,) = client.get(TEAM, headers=auth).json()["scopes"]
    assert scope == {
        "name": "NPM",
        "build": True,
        "runtime": False,
        "preview": True,
        "preview_value": True,
    }
    logged = b"\n".join(e.data for e in call(services.store.read_all))
    assert b"preview-token" not in logged
    opened = call(services.variables.shared.opened, "default", "default", "production")
    assert opened["team"].previews == {"NPM": "preview-token"}
    refused = client.patch(TEAM, json={"scopes": {"NOPE": {"build": True}}}, headers=auth)
    assert refused.status_code == 422
