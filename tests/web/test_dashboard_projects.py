"""The dashboard's projects: the list with its create form, a project's page with its
environments, their apps and status badges, and the forms to add or delete an environment
and to delete the project (typing its name); where an app lives on its page, the Move form
on its settings, and the project and environment of the create form. Every form works
without JavaScript, through the project service as the API does."""

from __future__ import annotations

import re

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from tests.web.page_parts import csrf, problem, text_of

GIT = "https://git.example.com/web.git"


def signed_in(client, member, session_headers, role="owner", team="default"):  # type: ignore[no-untyped-def]
    """ann@example.com, with `role` in `team`, signed in: the CSRF token of her session."""
    member("ann@example.com", role, team)
    return session_headers("ann@example.com")["X-CSRF-Token"]


def test_a_project_is_created_from_the_list_and_shown_with_its_environment(
    client, member, session_headers, log_types
) -> None:
    token = signed_in(client, member, session_headers)
    listed = client.get("/projects")
    assert listed.status_code == 200
    assert '<a href="/projects" aria-current="page">Projects</a>' in listed.text
    assert 'data-project="default/default"' in listed.text
    made = client.post(
        "/projects",
        data={"csrf_token": token, "team": "default", "project": "shop", "name": "Shop"},
        follow_redirects=False,
    )
    assert made.status_code in (302, 303)
    assert made.headers["location"] == "/projects/default/shop"
    assert "project.created" in log_types()
    page = client.get("/projects/default/shop").text
    assert text_of(page, "env-production-heading") == "production"
    assert "Nothing here yet" in (text_of(page, "env-production-empty") or "")
    assert 'data-project="default/shop"' in client.get("/projects").text


def test_a_refused_project_shows_the_problem_beside_its_field(
    client, member, session_headers
) -> None:
    token = signed_in(client, member, session_headers)
    bad = client.post(
        "/projects", data={"csrf_token": token, "team": "default", "project": "Not A Slug"}
    )
    assert bad.status_code == 422
    assert "regex" in (problem(bad.text, "project") or "")
    taken = client.post(
        "/projects", data={"csrf_token": token, "team": "default", "project": "default"}
    )
    assert taken.status_code == 409
    assert problem(taken.text, "project") == "team 'default' already has a project 'default'"
    expired = client.post("/projects", data={"team": "default", "project": "shop"})
    assert expired.status_code == 403


def test_environments_are_added_listed_with_their_apps_and_deleted_only_when_empty(
    client, member, session_headers, call, services, log_types
) -> None:
    token = signed_in(client, member, session_headers)
    client.post("/projects", data={"csrf_token": token, "team": "default", "project": "shop"})
    added = client.post(
        "/projects/default/shop/environments",
        data={"csrf_token": token, "environment": "staging"},
        follow_redirects=False,
    )
    assert added.status_code in (302, 303), added.text
    created = client.post(
        "/apps",
        data={
            "csrf_token": token,
            "name": "web",
            "git_url": GIT,
            "project": "shop",
            "environment": "staging",
        },
        follow_redirects=False,
    )
    assert created.status_code in (302, 303), created.text
    deployment_id = call(services.deployments.request, SYSTEM, "web")

    page = client.get("/projects/default/shop").text
    row = text_of(page, "env-staging-resources") or ""
    assert "web" in row
    assert f'href="/deployments/{deployment_id}" class="badge' in page

    held = client.post(
        "/projects/default/shop/environments/staging/delete", data={"csrf_token": token}
    )
    assert held.status_code == 422
    assert "environment 'staging' still holds app web" in (
        text_of(held.text, "env-staging-problem") or ""
    )
    refused = client.post(
        "/projects/default/shop/delete", data={"csrf_token": token, "confirm": "shop"}
    )
    assert refused.status_code == 422
    assert "still holds app web (in staging)" in (
        text_of(refused.text, "delete-project-problem") or ""
    )
    client.post("/apps/web/delete", data={"csrf_token": token, "confirm": "web"})
    gone = client.post(
        "/projects/default/shop/environments/staging/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert gone.status_code in (302, 303), gone.text
    assert "project.environment_deleted" in log_types()


def test_deleting_a_project_needs_its_name_typed(
    client, member, session_headers, log_types
) -> None:
    token = signed_in(client, member, session_headers)
    client.post("/projects", data={"csrf_token": token, "team": "default", "project": "shop"})
    mistyped = client.post(
        "/projects/default/shop/delete", data={"csrf_token": token, "confirm": "shap"}
    )
    assert mistyped.status_code == 422
    assert problem(mistyped.text, "confirm") == "type shop to confirm: nothing was deleted"
    deleted = client.post(
        "/projects/default/shop/delete",
        data={"csrf_token": token, "confirm": "shop"},
        follow_redirects=False,
    )
    assert deleted.headers["location"] == "/projects"
    assert "project.deleted" in log_types()
    assert client.get("/projects/default/shop").status_code == 404


def test_an_app_shows_where_it_lives_and_moves_from_its_settings(
    client, member, session_headers, log_types
) -> None:
    token = signed_in(client, member, session_headers)
    client.post("/projects", data={"csrf_token": token, "team": "default", "project": "shop"})
    client.post(
        "/projects/default/shop/environments", data={"csrf_token": token, "environment": "staging"}
    )
    client.post("/apps", data={"csrf_token": token, "name": "web"})
    page = client.get("/apps/web").text
    assert text_of(page, "app-place") == "default / production"
    assert 'href="/projects/default/default"' in page

    settings = client.get("/apps/web/settings").text
    options = re.findall(r'<option value="([^"]+)"', settings.split('id="move-form"')[1])
    assert options == ["default/production", "shop/production", "shop/staging"]
    moved = client.post(
        "/apps/web/move",
        data={"csrf_token": csrf(settings), "place": "shop/staging"},
        follow_redirects=False,
    )
    assert moved.headers["location"] == "/apps/web/settings?moved"
    assert "now lives in shop / staging" in (
        text_of(client.get("/apps/web/settings?moved").text, "banner") or ""
    )
    assert log_types()[-1] == "app.moved"
    nowhere = client.post("/apps/web/move", data={"csrf_token": token, "place": "shop/qa"})
    assert nowhere.status_code == 404
    assert problem(nowhere.text, "place") == "no environment 'qa' in project 'shop'"


def test_the_create_form_offers_projects_and_environments_and_says_what_is_missing(
    client, member, session_headers
) -> None:
    token = signed_in(client, member, session_headers)
    assert 'id="f-project"' not in client.get("/").text  # only default/production: no choice
    client.post("/projects", data={"csrf_token": token, "team": "default", "project": "shop"})
    home = client.get("/").text
    assert 'id="f-project"' in home
    assert 'id="f-environment"' in home
    refused = client.post(
        "/apps",
        data={"csrf_token": token, "name": "web", "project": "shop", "environment": "staging"},
    )
    assert refused.status_code == 404
    assert problem(refused.text, "environment") == "no environment 'staging' in project 'shop'"


def test_a_viewer_reads_projects_but_is_offered_no_form_and_another_team_sees_none(
    client, member, session_headers
) -> None:
    member("ann@example.com", "owner", "acme")
    ann = session_headers("ann@example.com")["X-CSRF-Token"]
    client.post("/projects", data={"csrf_token": ann, "team": "acme", "project": "shop"})
    member("vic@example.com", "viewer", "acme")
    session_headers("vic@example.com")
    page = client.get("/projects/acme/shop")
    assert page.status_code == 200
    assert 'id="add-environment"' not in page.text
    assert 'id="delete-project"' not in page.text
    assert 'id="create-project"' not in client.get("/projects").text
    member("mal@example.com", "owner", "globex")
    session_headers("mal@example.com")
    assert client.get("/projects/acme/shop").status_code == 404
    assert 'data-project="acme/shop"' not in client.get("/projects").text


def test_a_developer_is_told_where_an_app_lives_but_offered_no_move(
    client, member, session_headers, call, services
) -> None:
    call(services.apps.handle, SYSTEM, CreateApp(name="web"))
    signed_in(client, member, session_headers, role="developer")
    settings = client.get("/apps/web/settings").text
    assert text_of(settings, "move-current") == "default / production"
    assert 'id="move-form"' not in settings
    refused = client.post(
        "/apps/web/move", data={"csrf_token": csrf(settings), "place": "default/production"}
    )
    assert refused.status_code == 403
