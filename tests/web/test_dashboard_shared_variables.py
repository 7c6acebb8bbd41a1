"""The dashboard's shared variables of a team, a project and an environment: names listed,
values write-only, set, remove, paste; after a change, the apps that take it up."""

from __future__ import annotations

from typing import Any

import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateEnvironment, CreateProject
from tests.web.dashboard_pages import csrf_of, events, problem_beside
from tests.web.page_parts import text_of

TEAM = "/teams/default/variables"
STAGING = "/projects/default/shop/environments/staging/variables"


@pytest.fixture
def csrf(client, auth, call, services) -> str:  # type: ignore[no-untyped-def]
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="shop"))
    call(
        services.projects.run,
        SYSTEM,
        CreateEnvironment(team="default", project="shop", environment="staging"),
    )
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get(TEAM).text)


def test_a_team_variable_is_set_and_its_value_never_shown(client, csrf, call, services) -> None:
    assert 'id="no-variables"' in client.get(TEAM).text
    form = {"csrf_token": csrf, "name": "SMTP_PASSWORD", "value": "s3cret-value-xyz"}
    saved = client.post(TEAM, data=form)
    assert saved.status_code == 200  # followed to the page
    [change] = events(call, services, "team.variables_changed")
    assert list(change.set) == ["SMTP_PASSWORD"]
    assert 'data-variable="SMTP_PASSWORD"' in saved.text
    assert "s3cret-value-xyz" not in saved.text
    assert change.set["SMTP_PASSWORD"] not in saved.text
    assert "No application uses it yet" in (text_of(saved.text, "banner") or "")


def test_the_page_after_a_change_names_the_apps_that_take_it_up(
    client: Any, csrf: str, auth: dict[str, str]
) -> None:
    for name in ("web", "api"):
        body = {
            "name": name,
            "project": "shop",
            "environment": "staging",
            "env": {"URL": "postgres://${{environment.DB_HOST}}/x"},
        }
        assert client.post("/api/v1/apps", json=body, headers=auth).status_code == 201

    saved = client.post(STAGING, data={"csrf_token": csrf, "name": "DB_HOST", "value": "db"})

    assert text_of(saved.text, "picking-up") == "api, web"
    assert 'data-variable="DB_HOST"' in client.get(STAGING).text


def test_a_variable_is_removed_and_a_pasted_file_sets_them_all(
    client, csrf, call, services
) -> None:
    project = "/projects/default/shop/variables"
    text = '# shared\nexport A="1"\nB=${{team.X}}\n'
    assert (
        client.post(f"{project}/paste", data={"csrf_token": csrf, "text": text}).status_code == 200
    )
    [pasted] = events(call, services, "project.variables_changed")
    assert sorted(pasted.set) == ["A", "B"]
    client.post(f"{project}/remove", data={"csrf_token": csrf, "name": "A"})
    assert events(call, services, "project.variables_changed")[-1].unset == ["A"]
    page = client.get(project).text
    assert 'data-variable="A"' not in page
    assert 'data-variable="B"' in page


def test_a_bad_name_is_refused_beside_the_name(client, csrf, log_types) -> None:
    before = log_types()
    form = {"csrf_token": csrf, "name": "1-bad", "value": "typed-secret-abc"}
    refused = client.post(TEAM, data=form)
    assert refused.status_code == 422
    assert "is not a variable name" in problem_beside(refused.text, "name")
    assert "typed-secret-abc" not in refused.text
    assert log_types() == before


def test_a_place_that_does_not_exist_is_not_found(client, csrf) -> None:
    assert client.get("/projects/default/nope/variables").status_code == 404
    assert client.get("/projects/default/shop/environments/nope/variables").status_code == 404
    refused = client.post("/teams/nope/variables", data={"csrf_token": csrf, "name": "A"})
    assert refused.status_code == 404


def test_a_form_without_the_pages_token_changes_nothing(client, csrf, log_types) -> None:
    before = log_types()
    refused = client.post(TEAM, data={"csrf_token": "forged", "name": "A", "value": "1"})
    assert refused.status_code == 403
    assert log_types() == before
