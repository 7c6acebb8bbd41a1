"""Project roles and tokens limited to a project, over the API and on the team's page: set and
taken back as events on the team's stream, refused with a reason where they make no sense,
and followed at once by what the member (and their tokens) may read and do."""

from __future__ import annotations

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp, CreateProject
from tests.web.page_parts import problem

BOB = "bob@example.com"
ROLE = f"/api/v1/teams/default/members/{BOB}/projects"


def shop_and_blog(call, services) -> None:  # type: ignore[no-untyped-def]
    """The default team's projects shop and blog, an app in each."""
    for project, app in (("shop", "shopfront"), ("blog", "blogroll")):
        call(services.projects.run, SYSTEM, CreateProject(team="default", project=project))
        made = CreateApp(name=app, team="default", project=project, git_url="https://g.test/x")
        call(services.apps.handle, SYSTEM, made)


def test_a_viewer_made_developer_in_a_project_deploys_there_and_only_there(
    client, call, services, member, session_headers, log_types
) -> None:
    shop_and_blog(call, services)
    member("ann@example.com", "owner")
    member(BOB, "viewer")
    ann = session_headers("ann@example.com")

    set_role = client.put(f"{ROLE}/shop", json={"role": "developer"}, headers=ann)

    assert set_role.status_code == 200, set_role.text
    assert set_role.json()["project_roles"] == [
        {**set_role.json()["project_roles"][0], "user_id": BOB, "project": "shop"}
    ]
    assert set_role.json()["project_roles"][0]["role"] == "developer"
    assert "team.project_role_set" in log_types()
    bob = session_headers(BOB)
    assert client.post("/api/v1/apps/shopfront/deployments", headers=bob).status_code == 202
    assert client.post("/api/v1/apps/blogroll/deployments", headers=bob).status_code == 403

    ann = session_headers("ann@example.com")
    assert client.delete(f"{ROLE}/shop", headers=ann).status_code == 204
    bob = session_headers(BOB)
    assert client.post("/api/v1/apps/shopfront/deployments", headers=bob).status_code == 403


def test_a_guest_sees_only_the_projects_they_hold_a_role_in(
    client, call, services, member, session_headers
) -> None:
    shop_and_blog(call, services)
    member(BOB, "guest")
    call(services.teams.set_project_role, SYSTEM, "default", BOB, "shop", "viewer")
    bob = session_headers(BOB)

    assert [a["name"] for a in client.get("/api/v1/apps", headers=bob).json()] == ["shopfront"]
    assert client.get("/api/v1/apps/blogroll", headers=bob).status_code == 404
    assert client.get("/api/v1/teams/default", headers=bob).status_code == 404
    audit = client.get("/api/v1/audit", params={"limit": 500}, headers=bob).json()
    assert {e["app"] or e["stream_id"] for e in audit} == {"shopfront", "project-default/shop"}


def test_project_roles_are_refused_for_owners_strangers_unknown_projects_and_non_admins(
    client, call, services, member, session_headers, log_types
) -> None:
    shop_and_blog(call, services)
    member("ann@example.com", "owner")
    member(BOB, "developer")
    bob = session_headers(BOB)
    by_developer = client.put(f"{ROLE}/shop", json={"role": "admin"}, headers=bob)
    ann = session_headers("ann@example.com")
    before = log_types()

    unknown = client.put(f"{ROLE}/nowhere", json={"role": "viewer"}, headers=ann)
    stranger = client.put(
        "/api/v1/teams/default/members/eve@example.com/projects/shop",
        json={"role": "viewer"},
        headers=ann,
    )
    owner = client.put(
        "/api/v1/teams/default/members/ann@example.com/projects/shop",
        json={"role": "viewer"},
        headers=ann,
    )

    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        "no project 'nowhere' in team 'default'",
    )
    assert stranger.status_code == 422
    assert "not a member of 'default'" in stranger.json()["detail"]
    assert owner.status_code == 422
    assert "covers every project" in owner.json()["detail"]
    assert by_developer.status_code == 403
    assert log_types() == before


def test_a_token_limited_to_a_project_reads_and_mints_there_only(
    client, call, services, member, session_headers
) -> None:
    shop_and_blog(call, services)
    member("ann@example.com", "admin")
    ann = session_headers("ann@example.com")
    minted = client.post(
        "/api/v1/tokens",
        json={"name": "ci", "scope": "admin", "team": "default", "project": "shop"},
        headers=ann,
    )
    assert minted.status_code == 201, minted.text
    assert minted.json()["project"] == "shop"
    client.cookies.clear()
    token = {"Authorization": f"Bearer {minted.json()['token']}"}

    assert [a["name"] for a in client.get("/api/v1/apps", headers=token).json()] == ["shopfront"]
    assert client.get("/api/v1/apps/blogroll", headers=token).status_code == 404
    assert client.get("/api/v1/teams/default", headers=token).status_code == 404
    wider = client.post("/api/v1/tokens", json={"name": "c", "project": "blog"}, headers=token)
    assert wider.status_code == 403
    assert "project 'shop'" in wider.json()["detail"]
    child = client.post("/api/v1/tokens", json={"name": "child"}, headers=token)
    assert child.status_code == 201, child.text
    assert child.json()["project"] == "shop"  # minted by it: within it

    ann = session_headers("ann@example.com")
    nowhere = client.post(
        "/api/v1/tokens", json={"name": "x", "team": "default", "project": "nope"}, headers=ann
    )
    assert nowhere.status_code == 404


def test_the_team_page_sets_and_takes_back_a_project_role(
    client, call, services, member, session_headers
) -> None:
    shop_and_blog(call, services)
    member("ann@example.com", "owner")
    member(BOB, "developer")
    csrf = session_headers("ann@example.com")["X-CSRF-Token"]
    page = client.get("/teams/default")
    assert 'id="set-project-role"' in page.text
    assert 'id="no-project-roles"' in page.text

    form = {"csrf_token": csrf, "user_id": BOB, "project": "blog", "role": "none"}
    set_role = client.post("/teams/default/project-roles", data=form, follow_redirects=False)
    assert set_role.status_code in (302, 303)
    assert f'data-project-role="{BOB}/blog"' in client.get("/teams/default").text

    refused = client.post("/teams/default/project-roles", data={**form, "project": "nope"})
    assert refused.status_code == 404
    assert problem(refused.text, "project") == "no project 'nope' in team 'default'"

    remove = f"/teams/default/members/{BOB}/projects/blog/remove"
    taken_back = client.post(remove, data={"csrf_token": csrf}, follow_redirects=False)
    assert taken_back.status_code in (302, 303)
    assert 'id="no-project-roles"' in client.get("/teams/default").text


def test_a_domain_taken_in_a_project_one_cannot_read_is_refused_without_naming_its_app(
    client, call, services, member, session_headers
) -> None:
    shop_and_blog(call, services)
    ann = session_headers(member("ann@example.com", "owner"))
    taken = client.patch("/api/v1/apps/blogroll", json={"domains": ["x.example.com"]}, headers=ann)
    assert taken.status_code == 200, taken.text
    member(BOB, "guest")
    call(services.teams.set_project_role, SYSTEM, "default", BOB, "shop", "admin")
    bob = session_headers(BOB)

    refused = client.patch(
        "/api/v1/apps/shopfront", json={"domains": ["x.example.com"]}, headers=bob
    )

    assert refused.status_code == 409
    assert "blogroll" not in refused.json()["detail"]
    ann = session_headers("ann@example.com")
    told = client.patch("/api/v1/apps/shopfront", json={"domains": ["x.example.com"]}, headers=ann)
    assert "used by application 'blogroll'" in told.json()["detail"]


def test_a_guest_may_not_reach_the_teams_variables_through_a_reference(
    client, call, services, member, session_headers
) -> None:
    """A reference hands the variable's value to the app: a member kept to one project may
    reference its own project's and environment's variables, never the team's."""
    shop_and_blog(call, services)
    member(BOB, "guest")
    call(services.teams.set_project_role, SYSTEM, "default", BOB, "shop", "admin")
    bob = session_headers(BOB)
    app = "/api/v1/apps/shopfront"

    refused = client.patch(app, json={"env": {"DB": "${{team.DATABASE_URL}}"}}, headers=bob)
    assert refused.status_code == 403, refused.text
    assert "variable DB -> team.DATABASE_URL" in refused.json()["detail"]
    shared = "/api/v1/projects/default/shop/variables"
    refused = client.patch(shared, json={"variables": {"X": "${{team.TOKEN}}"}}, headers=bob)
    assert refused.status_code == 403, refused.text

    allowed = client.patch(app, json={"env": {"DB": "${{project.DATABASE_URL}}"}}, headers=bob)
    assert allowed.status_code == 200, allowed.text
