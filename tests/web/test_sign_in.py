"""Password sign-in over HTTP: a session cookie that works on the API, CSRF on changes, one
answer for unknown addresses and wrong passwords (locked out alike), a lockout recorded as
events, sign-out."""

from __future__ import annotations

import re

import pytest

from rivetr.domain.access import SYSTEM
from tests.web.conftest import PASSWORD


@pytest.fixture
def owner(member) -> str:
    return member("Ann@Example.com", "owner")


def sign_in(client, email="ann@example.com", password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_signing_in_sets_an_http_only_strict_cookie_that_works_on_the_api(client, owner):
    response = sign_in(client)

    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("rivetr_session=rvs_")
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    body = response.json()
    assert body["user"] == "ann@example.com"
    assert client.get("/api/v1/apps").status_code == 200  # the cookie, no bearer token


def test_a_change_through_the_cookie_needs_the_csrf_token(client, owner, log_types):
    csrf = sign_in(client).json()["csrf_token"]
    before = log_types()

    refused = client.post("/api/v1/apps", json={"name": "web"})
    forged = client.post("/api/v1/apps", json={"name": "web"}, headers={"X-CSRF-Token": "0" * 32})

    assert refused.status_code == forged.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    assert log_types() == before
    made = client.post("/api/v1/apps", json={"name": "web"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text


def test_the_user_is_the_actor_of_what_the_session_does(client, owner, call, services):
    csrf = sign_in(client).json()["csrf_token"]
    client.post("/api/v1/apps", json={"name": "web"}, headers={"X-CSRF-Token": csrf})

    created = [e for e in call(services.store.read_all) if e.type == "app.created"]
    assert created[-1].actor == "user:ann@example.com"


def test_unknown_address_and_wrong_password_get_the_same_answer_and_are_recorded(
    client, owner, call, services
):
    unknown = sign_in(client, email="bob@example.com")
    wrong = sign_in(client, password="not the password")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"] == "wrong e-mail address or password"
    assert "set-cookie" not in wrong.headers
    failures = [e.event for e in call(services.store.read_all) if e.type == "user.login_failed"]
    assert [(f.email, f.reason) for f in failures] == [
        ("bob@example.com", "unknown email"),
        ("Ann@Example.com", "wrong password"),
    ]
    assert all("not the password" not in str(f) for f in failures)


def test_brute_force_locks_the_account_and_is_recorded(client, owner, call, services):
    answers = [sign_in(client, password=f"guess {n}").status_code for n in range(5)]
    locked = sign_in(client)  # even the right password

    assert answers == [401, 401, 401, 401, 429]
    assert locked.status_code == 429
    assert "locked until" in locked.json()["detail"]
    types = [e.type for e in call(services.store.read_stream, "user-ann@example.com")]
    assert types.count("user.login_failed") == 6
    assert "user.locked_out" in types
    assert "user.session_started" not in types
    assert client.get("/api/v1/apps").status_code == 401


def test_after_five_failures_a_known_and_an_unknown_address_get_the_same_answers(
    client, owner, services, call
):
    services.users.throttle.limit = 100  # the per-address cap would answer first

    def answers(email: str) -> list[tuple[int, str, str]]:
        replies = [sign_in(client, email=email, password=f"guess {n}") for n in range(7)]
        return [
            (r.status_code, r.json()["title"], re.sub(r"until \S+", "until T", r.json()["detail"]))
            for r in replies
        ]

    known, unknown = answers("ann@example.com"), answers("nobody@example.com")

    assert known == unknown
    assert [status for status, _, _ in unknown] == [401, 401, 401, 401, 429, 429, 429]
    assert unknown[-1][2] == "too many failed sign-ins: locked until T"
    recorded = call(services.store.read_all)
    reasons = [e.event.reason for e in recorded if e.stream_id == "auth"]
    assert reasons == ["unknown email"] * 5 + ["locked"] * 2
    assert [e.type for e in recorded if e.type == "user.locked_out"] == ["user.locked_out"]
    assert sign_in(client, email="nobody@example.com", password=PASSWORD).status_code == 429


def test_signing_out_needs_the_csrf_token_and_ends_the_session(client, owner, log_types):
    csrf = sign_in(client).json()["csrf_token"]
    session = client.cookies.get("rivetr_session")
    before = log_types()

    forged = client.post("/api/v1/auth/logout")  # what another site's form could send

    assert forged.status_code == 403
    assert "X-CSRF-Token" in forged.json()["detail"]
    assert log_types() == before
    assert client.get("/api/v1/apps").status_code == 200  # still signed in
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204

    client.cookies.set("rivetr_session", session)  # replayed after sign-out
    assert client.get("/api/v1/apps").status_code == 401


def test_a_short_password_or_bad_address_is_refused_at_creation(call, services):
    from rivetr.domain.errors import InvalidCommand

    with pytest.raises(InvalidCommand, match="12 characters"):
        call(services.users.create, SYSTEM, "c@example.com", "short", "viewer")
    with pytest.raises(InvalidCommand, match="not an e-mail"):
        call(services.users.create, SYSTEM, "not an address", PASSWORD, "viewer")


@pytest.mark.parametrize(
    ("role", "may_create"),
    [("owner", True), ("admin", True), ("developer", False), ("viewer", False)],
)
def test_a_role_decides_what_a_session_may_do(client, member, log_types, role, may_create):
    member(f"{role}@example.com", role)
    csrf = sign_in(client, email=f"{role}@example.com").json()["csrf_token"]
    before = log_types()

    response = client.post("/api/v1/apps", json={"name": "web"}, headers={"X-CSRF-Token": csrf})

    assert client.get("/api/v1/apps").status_code == 200
    assert response.status_code == (201 if may_create else 403), response.text
    if not may_create:
        assert log_types() == before


def test_guessing_from_one_address_is_slowed_before_it_reaches_the_log(client, log_types):
    answers = [sign_in(client, email=f"guess{n}@example.com").status_code for n in range(10)]
    before = log_types()

    slowed = sign_in(client, email="guess10@example.com")

    assert answers == [401] * 10
    assert slowed.status_code == 429
    assert "from this address" in slowed.json()["detail"]
    assert log_types() == before  # refused before any argon2 work or event
