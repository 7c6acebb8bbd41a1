"""The server-rendered dashboard's sign-in: by password (a session) or by API token, pages
behind it, and a sign-out form that needs the session's CSRF token."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import PASSWORD


@pytest.fixture
def owner(member) -> str:
    return member("ann@example.com", "owner")


def form_token(client, path: str = "/login") -> str:
    """What a browser does first: load the page, whose form carries the token bound to the
    form cookie set with it."""
    page = client.get(path).text
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def form_login(client, **fields: str):
    fields.setdefault("form_token", form_token(client))
    return client.post("/login", data=fields, follow_redirects=False)


def test_pages_need_a_sign_in(client):
    response = client.get("/", follow_redirects=False)

    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login"
    page = client.get("/login")
    assert 'name="password"' in page.text
    assert 'name="token"' in page.text  # the other way in


def test_a_password_sign_in_opens_the_dashboard(client, owner, auth):
    client.post("/api/v1/apps", json={"name": "shop"}, headers=auth)

    signed = form_login(client, email="ann@example.com", password=PASSWORD)

    assert signed.status_code in (302, 303)
    assert "rivetr_session=rvs_" in signed.headers["set-cookie"]
    home = client.get("/")
    assert home.status_code == 200
    assert "signed in as user:ann@example.com" in home.text
    assert "shop" in home.text


def test_a_wrong_password_shows_the_form_again_with_one_message(client, owner):
    response = form_login(client, email="ann@example.com", password="nope")

    assert response.status_code == 401
    assert "wrong e-mail address or password" in response.text
    assert "set-cookie" not in response.headers


def test_a_token_still_signs_in(client, auth):
    token = auth["Authorization"].split()[1]

    assert form_login(client, token=token).status_code in (302, 303)
    assert "signed in as token:tester" in client.get("/").text


def test_signing_out_needs_the_forms_csrf_token_and_ends_the_session(client, owner, call, services):
    form_login(client, email="ann@example.com", password=PASSWORD)
    page = client.get("/").text
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)

    forged = client.post("/logout", data={}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in

    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code in (302, 303)
    types = [e.type for e in call(services.store.read_stream, "user-ann@example.com")]
    assert types[-1] == "user.session_ended"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_the_sign_in_form_is_refused_without_the_token_of_the_page_it_came_from(
    client, owner, log_types
):
    before = log_types()

    cross_site = client.post(
        "/login", data={"email": "ann@example.com", "password": PASSWORD}, follow_redirects=False
    )
    form_token(client)  # the cookie is set now, but the forged form cannot know its value
    wrong = form_login(client, email="ann@example.com", password=PASSWORD, form_token="guess")

    assert cross_site.status_code == wrong.status_code == 403
    assert "rivetr_session" not in cross_site.headers.get("set-cookie", "")
    assert log_types() == before  # refused before the password is even checked
    assert form_login(client, email="ann@example.com", password=PASSWORD).status_code == 302


def test_a_form_cookie_and_token_forged_as_a_pair_are_refused(client, owner, log_types):
    """Whoever can set a cookie for the host (a sibling subdomain) can choose the form cookie,
    and put its value in the form: the token must be signed by the server's key too."""
    before = log_types()
    client.cookies.set("rivetr_form", "chosen-by-the-attacker")

    forged = form_login(
        client, email="ann@example.com", password=PASSWORD, form_token="chosen-by-the-attacker"
    )

    assert forged.status_code == 403
    assert "This form has expired" in forged.text
    assert log_types() == before
    assert form_login(client, email="ann@example.com", password=PASSWORD).status_code == 302


def test_a_sign_in_form_the_browser_says_came_from_another_site_is_refused(client, owner):
    token = form_token(client)
    fields = {"email": "ann@example.com", "password": PASSWORD, "form_token": token}

    for site in ("same-site", "cross-site"):
        sent = client.post("/login", data=fields, headers={"Sec-Fetch-Site": site})
        assert sent.status_code == 403, site
    ours = client.post(
        "/login", data=fields, headers={"Sec-Fetch-Site": "same-origin"}, follow_redirects=False
    )
    assert ours.status_code == 302


def test_the_first_account_is_made_on_the_setup_page_with_the_logged_code(
    client, call, services, auth
):
    code = services.setup.code
    assert code  # offered at start, since no account exists
    assert "make the first account" in client.get("/login").text
    token = form_token(client, "/setup")
    form = {
        "email": "ann@example.com",
        "password": PASSWORD,
        "again": PASSWORD,
        "form_token": token,
    }

    wrong = client.post("/setup", data={**form, "code": "guess"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert call(services.read.users.every) == []
    made = client.post("/setup", data={**form, "code": code}, follow_redirects=False)

    assert made.status_code == 302, made.text
    assert "signed in as user:ann@example.com" in client.get("/").text
    assert [t.team for t in call(services.read.teams.every)] == ["default"]
    assert [t.owner for t in call(services.read.tokens.every)] == ["ann@example.com"]  # adopted
    created = [e for e in call(services.store.read_all) if e.type == "team.created"]
    assert (created[0].actor, created[0].source) == ("system:setup", "setup")
    again = client.get("/setup", follow_redirects=False)
    assert again.headers["location"] == "/login"
    late = client.post("/setup", data={**form, "code": code}, follow_redirects=False)
    assert late.headers["location"] == "/login"
    assert len(call(services.read.users.every)) == 1


def test_the_setup_page_closes_once_an_account_exists_however_it_was_made(client, member):
    assert client.get("/setup").status_code == 200
    member("ann@example.com", "owner")  # as the CLI would, beside the running service

    assert client.get("/setup", follow_redirects=False).headers["location"] == "/login"
    assert "make the first account" not in client.get("/login").text


def test_every_page_has_the_site_navigation_with_its_own_section_marked(client, auth):
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    home, audit = client.get("/").text, client.get("/audit").text
    client.cookies.clear()
    login = client.get("/login").text

    assert '<a href="/" aria-current="page">Apps</a>' in home
    assert '<a href="/audit">Audit</a>' in home
    assert '<a href="/audit" aria-current="page">Audit</a>' in audit
    assert 'rel="icon"' in home
    assert "Main" not in login  # nobody signed in: nowhere to go yet


def test_a_signed_in_error_page_has_the_navigation_to_go_on_from(client, owner, session_headers):
    csrf = session_headers("ann@example.com")["X-CSRF-Token"]
    missing = client.get("/apps/nope")
    expired = client.post("/apps/nope/deploy", data={"csrf_token": "stale"})
    unknown_team = client.get("/teams/nope")

    assert missing.status_code == 404
    assert "No application named &#39;nope&#39;." in missing.text
    for page in (missing, expired, unknown_team):
        assert '<nav aria-label="Main">' in page.text
        assert "signed in as user:ann@example.com" in page.text
        assert f'name="csrf_token" value="{csrf}"' in page.text  # Sign out works from there
    assert expired.status_code == 403

    assert unknown_team.status_code == 404


def test_every_signed_in_page_offers_sign_out(client, owner, session_headers):
    client.post("/api/v1/apps", json={"name": "web"}, headers=session_headers("ann@example.com"))
    for path in (
        "/",
        "/apps/web",
        "/apps/web?at=2001-01-01",
        "/apps/web?at=noonish",
        "/apps/web/settings",
        "/apps/web/variables",
        "/apps/web/certificates",
        "/apps/web/scale",
        "/audit",
        "/audit/events/1",
        "/teams",
        "/teams/default",
        "/tokens",
        "/account",
        "/settings",
        "/servers",
    ):
        page = client.get(path).text
        assert '<form method="post" action="/logout"' in page, path


def test_settings_and_servers_are_in_the_navigation_of_instance_administrators_only(
    client, owner, member, session_headers
):
    session_headers("ann@example.com")
    assert '<a href="/settings">Settings</a>' in client.get("/").text
    assert '<a href="/servers" aria-current="page">Servers</a>' in client.get("/servers").text
    member("bob@example.com", "developer")
    session_headers("bob@example.com")
    home = client.get("/").text
    assert '<a href="/teams">Teams</a>' in home
    assert 'href="/settings"' not in home  # the instance's settings are for its administrators
    assert 'href="/servers"' not in home
