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
    """What a browser does first: load the page, whose form carries the double-submit token."""
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
