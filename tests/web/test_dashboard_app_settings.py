"""The dashboard's app settings: create an app with every setting, change only what changed,
and delete it when its name is typed again; each refusal beside its field, as typed."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain.access import SYSTEM
from tests.web.dashboard_pages import csrf_of, events, problem_beside, value_of

SECRET_TOKEN = "ghp_dashboard_secret_token_123"
DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0a2V5\n-----END OPENSSH PRIVATE KEY-----"


@pytest.fixture
def csrf(client, auth) -> str:  # type: ignore[no-untyped-def]
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get("/").text)


EVERYTHING = {
    "name": "shop",
    "git_url": "https://git.example.com/shop.git",
    "branch": "release",
    "build_type": "dockerfile",
    "build_context": "app",
    "build_dockerfile": "Dockerfile.prod",
    "build_target": "runtime",
    "build_args": "NODE_ENV=buildargvalue\n",
    "port": "9000",
    "domains": "shop.test, www.shop.test",
    "health_path": "/up",
    "health_port": "9001",
    "health_expected_status": "204",
    "health_interval_s": "0.5",
    "health_timeout_s": "2",
    "health_boot_deadline_s": "60",
    "health_start_period_s": "3",
    "health_give_up_after_4xx": "5",
    "resources_memory_mb": "256",
    "resources_cpus": "0.5",
    "watch_paths": "src/** package.json",
    "previews": "on",
    "previews_from_forks": "on",
    "env": "API_KEY=very-secret-env-value\n",
    "git_token": SECRET_TOKEN,
}


def test_the_create_form_takes_every_setting_the_api_takes(client, auth, csrf, call, services):
    created = client.post("/apps", data={**EVERYTHING, "csrf_token": csrf}, follow_redirects=False)
    assert created.status_code in (302, 303)
    assert created.headers["location"] == "/apps/shop"

    [made] = events(call, services, "app.created")
    assert (made.name, made.branch, made.port, made.domains) == (
        "shop",
        "release",
        9000,
        ["shop.test", "www.shop.test"],
    )
    assert (made.build.type, made.build.context, made.build.target) == (
        "dockerfile",
        "app",
        "runtime",
    )
    assert list(made.build.build_args) == ["NODE_ENV"]
    assert (made.health.path, made.health.port, made.health.expected_status) == ("/up", 9001, 204)
    assert (made.health.interval_s, made.health.timeout_s, made.health.boot_deadline_s) == (
        0.5,
        2,
        60,
    )
    assert (made.health.start_period_s, made.health.give_up_after_4xx) == (3, 5)
    assert (made.resources.memory_mb, made.resources.cpus) == (256, 0.5)
    assert (made.watch_paths, made.previews, made.previews_from_forks) == (
        ["src/**", "package.json"],
        True,
        True,
    )
    assert list(made.env) == ["API_KEY"]
    assert events(call, services, "app.git_credentials_changed")
    for page in (client.get("/apps/shop").text, client.get("/apps/shop/settings").text):
        assert SECRET_TOKEN not in page
        assert "very-secret-env-value" not in page
        assert "buildargvalue" not in page  # a build arg's value


def test_an_empty_port_is_the_commands_default_not_3000(client, csrf, call, services):
    home = client.get("/").text
    assert 'placeholder="8080"' in home
    assert "3000" not in home
    client.post("/apps", data={"csrf_token": csrf, "name": "web"})
    [made] = events(call, services, "app.created")
    assert made.port == 8080


def test_a_refused_create_form_shows_the_problem_beside_its_field_as_typed(client, csrf, log_types):
    before = log_types()
    typed = {**EVERYTHING, "csrf_token": csrf, "port": "70000"}
    refused = client.post("/apps", data=typed)
    assert refused.status_code == 422
    assert ">= 1" in problem_beside(refused.text, "port") or "<= 65535" in problem_beside(
        refused.text, "port"
    )
    assert value_of(refused.text, "port") == "70000"
    assert value_of(refused.text, "name") == "shop"
    assert value_of(refused.text, "health_path") == "/up"
    assert SECRET_TOKEN not in refused.text  # a secret is never typed back
    assert "very-secret-env-value" not in refused.text

    bad_health = client.post("/apps", data={**typed, "port": "9000", "health_timeout_s": "x"})
    assert problem_beside(bad_health.text, "health_timeout_s") == "'x' is not a number"
    bad_name = client.post("/apps", data={**typed, "port": "9000", "name": "Bad Name"})
    assert "matching regex" in problem_beside(bad_name.text, "name")
    bad_env = client.post("/apps", data={**typed, "port": "9000", "env": "OK=1\n2BAD=x"})
    assert problem_beside(bad_env.text, "env").startswith("line 2: '2BAD'")
    assert log_types() == before


def test_the_create_form_needs_the_pages_csrf_token(client, csrf, log_types):
    before = log_types()
    assert client.post("/apps", data={"name": "web"}).status_code == 403
    assert client.post("/apps", data={"name": "web", "csrf_token": "nope"}).status_code == 403
    assert log_types() == before


def test_a_member_of_two_teams_picks_the_team_in_a_select(
    client, call, services, member, session_headers
):
    user_id = member("ann@example.com", "admin")
    headers = session_headers("ann@example.com")
    assert 'id="f-team"' not in client.get("/").text  # one team: nothing to pick
    call(services.teams.create, SYSTEM, "ops", "Ops", user_id)
    headers = session_headers("ann@example.com")  # a session holds the roles it began with
    home = client.get("/").text
    assert '<option value="ops">' in home
    assert '<option value="default"' in home
    form = {"csrf_token": headers["X-CSRF-Token"], "name": "tool", "team": "ops"}
    assert client.post("/apps", data=form, follow_redirects=False).status_code in (302, 303)
    [made] = events(call, services, "app.created")
    assert made.team == "ops"


@pytest.fixture
def shop(client, csrf) -> str:  # type: ignore[no-untyped-def]
    made = client.post("/apps", data={**EVERYTHING, "csrf_token": csrf}, follow_redirects=False)
    assert made.status_code in (302, 303)
    return csrf


def test_the_settings_page_sends_only_what_changed(client, shop, call, services):
    page = client.get("/apps/shop/settings").text
    assert value_of(page, "port") == "9000"
    assert value_of(page, "health_timeout_s") == "2"
    assert 'id="git_token-state"' in page  # shown as set, never its value
    assert SECRET_TOKEN not in page
    form = {
        k: v for k, v in EVERYTHING.items() if k not in ("name", "git_token", "env", "build_args")
    }
    changed = client.post(
        "/apps/shop/settings",
        data={**form, "csrf_token": shop, "port": "9100", "health_path": "/ready"},
        follow_redirects=False,
    )
    assert changed.status_code in (302, 303), changed.text
    [change] = events(call, services, "app.settings_changed")
    assert change.port == 9100
    assert change.health.path == "/ready"
    assert change.health.give_up_after_4xx == 5  # kept: the whole check is sent, as it was
    assert change.build is msgspec.UNSET  # the build, untouched, is not sent
    assert change.domains is msgspec.UNSET
    assert len(events(call, services, "app.git_credentials_changed")) == 1  # the creation's
    assert "Saved" in client.get(changed.headers["location"]).text


def test_a_build_change_asks_for_the_write_only_build_args_again(client, shop, log_types):
    before = log_types()
    form = {k: v for k, v in EVERYTHING.items() if k not in ("name", "git_token", "env")}
    refused = client.post(
        "/apps/shop/settings",
        data={**form, "csrf_token": shop, "build_args": "", "build_target": "other"},
    )
    assert refused.status_code == 422
    assert "NODE_ENV" in problem_beside(refused.text, "build_args")
    assert value_of(refused.text, "build_target") == "other"
    assert log_types() == before


def test_a_credential_is_removed_with_its_box(client, shop, call, services):
    form = {
        k: v for k, v in EVERYTHING.items() if k not in ("name", "git_token", "env", "build_args")
    }
    client.post("/apps/shop/settings", data={**form, "csrf_token": shop, "git_token_remove": "on"})
    last = events(call, services, "app.git_credentials_changed")[-1]
    assert last.token is None
    assert 'id="git_token-state"' not in client.get("/apps/shop/settings").text


def test_a_viewer_is_refused_the_settings_as_the_api_refuses(
    client, shop, member, session_headers, log_types
):
    member("val@example.com", "viewer")
    headers = session_headers("val@example.com")
    before = log_types()
    page = client.get("/apps/shop/settings")
    assert page.status_code == 200
    refused = client.post(
        "/apps/shop/settings", data={"csrf_token": headers["X-CSRF-Token"], "port": "1234"}
    )
    api = client.patch("/api/v1/apps/shop", json={"port": 1234}, headers=headers)
    assert refused.status_code == api.status_code == 403
    assert "edit_apps" in refused.text
    deleted = client.post(
        "/apps/shop/delete", data={"csrf_token": headers["X-CSRF-Token"], "confirm": "shop"}
    )
    assert deleted.status_code == 403
    assert log_types()[: len(before)] == before
    assert [t for t in log_types()[len(before) :] if t.startswith("app.")] == []


def test_deleting_needs_the_name_typed_again(client, shop, call, services):
    wrong = client.post("/apps/shop/delete", data={"csrf_token": shop, "confirm": "shopp"})
    assert wrong.status_code == 422
    assert "type shop to confirm" in problem_beside(wrong.text, "confirm")
    assert not events(call, services, "app.deleted")
    assert client.post("/apps/shop/delete", data={"confirm": "shop"}).status_code == 403

    gone = client.post(
        "/apps/shop/delete", data={"csrf_token": shop, "confirm": "shop"}, follow_redirects=False
    )
    assert gone.status_code in (302, 303)
    assert gone.headers["location"] == "/?deleted=shop"
    assert events(call, services, "app.deleted")
    home = client.get("/?deleted=shop").text
    assert 'id="banner"' in home
    assert "shop was deleted" in home


def test_a_developer_edits_but_only_app_managers_move_domains_as_the_api_says(
    client, shop, member, session_headers, call, services
):
    member("dev@example.com", "developer")
    headers = session_headers("dev@example.com")
    page = client.get("/apps/shop/settings").text
    form = {
        k: v for k, v in EVERYTHING.items() if k not in ("name", "git_token", "env", "build_args")
    }
    form["csrf_token"] = csrf_of(page)
    assert form["csrf_token"] == headers["X-CSRF-Token"]
    moved = client.post("/apps/shop/settings", data={**form, "domains": "elsewhere.test"})
    api = client.patch("/api/v1/apps/shop", json={"domains": ["elsewhere.test"]}, headers=headers)
    assert moved.status_code == api.status_code == 403
    assert "manage_apps" in moved.text
    assert value_of(moved.text, "domains") == "elsewhere.test"  # as typed
    assert not events(call, services, "app.settings_changed")

    ported = client.post(
        "/apps/shop/settings", data={**form, "port": "9200"}, follow_redirects=False
    )
    assert ported.status_code in (302, 303)
    [change] = events(call, services, "app.settings_changed")
    assert change.port == 9200


def test_a_repository_this_instance_does_not_fetch_from_is_refused_beside_git_url(
    client, csrf, log_types
):
    before = log_types()
    form = {"csrf_token": csrf, "name": "web", "git_url": "file:///etc"}
    refused = client.post("/apps", data=form)
    assert refused.status_code == 422
    assert problem_beside(refused.text, "git_url").startswith("git_url: ")
    assert value_of(refused.text, "git_url") == "file:///etc"
    assert log_types() == before


def test_a_settings_form_that_leaves_the_health_check_alone_does_not_send_it(
    client, shop, call, services
):
    """Every health field is on the form, so saving something else never resets one of them
    (the give-up count included) to its default."""
    form = {
        k: v for k, v in EVERYTHING.items() if k not in ("name", "git_token", "env", "build_args")
    }
    changed = client.post("/apps/shop/settings", data={**form, "csrf_token": shop, "port": "9200"})
    assert changed.status_code == 200, changed.text
    [change] = events(call, services, "app.settings_changed")
    assert change.port == 9200
    assert change.health is msgspec.UNSET
