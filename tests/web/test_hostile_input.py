"""What an attacker sent, in process: path values no app can have, JSON nested past what the
decoder follows, numbers SQLite cannot hold, non-ASCII tokens, and bodies that are not JSON.
Each is a clear 4xx problem, never a 5xx, and the service keeps working after it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from tests.web.conftest import PASSWORD
from tests.web.test_api_deployments import APP, settled

HUGE = "99999999999999999999"  # more than a SQLite INTEGER holds


def is_problem(answer: Any, status: int) -> bool:
    return (
        answer.status_code == status
        and answer.headers["content-type"] == "application/problem+json"
        and answer.json()["status"] == status
        and bool(answer.json()["detail"])
    )


def still_works(client: Any, auth: dict[str, str]) -> None:
    made = client.post("/api/v1/apps", json={"name": "after"}, headers=auth)
    assert made.status_code == 201, made.text
    assert client.delete("/api/v1/apps/after", headers=auth).status_code == 204


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
def test_a_name_no_app_can_have_is_a_bad_request(client, auth, method, log_types) -> None:
    before = log_types()
    kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}

    answer = client.request(method, "/api/v1/apps/Acme", headers=auth, **kwargs)

    assert is_problem(answer, 400), answer.text
    assert answer.json()["detail"].startswith("name: Expected `str` matching")
    assert log_types() == before
    still_works(client, auth)


def test_no_route_answers_a_5xx_to_path_values_no_resource_can_have(client, auth) -> None:
    client.post("/api/v1/apps", json={"name": "web"}, headers=auth)
    routes = [r for r in client.app.routes if isinstance(r, HTTPRoute)]
    assert len(routes) > 20
    for route in routes:
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            for value in ("Acme", "a" * 300, "%C3%A9", "%00", "-"):
                path = re.sub(r"\{[^}]+\}", value, route.path)
                if path.endswith("/stream"):
                    continue  # a valid one would not end: the streams have tests of their own
                body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
                answer = client.request(method, path, headers=auth, **body)
                assert answer.status_code < 500, (method, path, answer.text)
    still_works(client, auth)


def test_json_nested_deeper_than_the_decoder_follows_is_a_bad_request(client, auth) -> None:
    deep = "[" * 20_000 + "]" * 20_000
    json_headers = {**auth, "Content-Type": "application/json"}

    answer = client.post("/api/v1/apps", content=deep, headers=json_headers)
    broken = client.post("/api/v1/apps", content='{"name": ', headers=json_headers)

    assert is_problem(answer, 400), answer.text
    assert answer.json()["detail"] == "the body's JSON is nested too deeply"
    assert is_problem(broken, 400), broken.text
    still_works(client, auth)


def integer_query_parameters(app: Any) -> list[tuple[str, str]]:
    """(path, name) of every integer query parameter of every route."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for name, field in handler.parsed_fn_signature.parameters.items():
                if "{" + name + ":" in route.path:
                    continue  # a path parameter: a huge one is no route
                types = [field, *field.inner_types] if field.is_optional else [field]
                if any(t.is_subclass_of(int) and not t.is_subclass_of(bool) for t in types):
                    query = getattr(field.kwarg_definition, "query", None) or name
                    found.append((route.path, query))
    return found


def test_every_integer_in_a_query_is_refused_beyond_what_sqlite_holds(client, auth) -> None:
    client.post("/api/v1/apps", json={"name": "web"}, headers=auth)
    parameters = integer_query_parameters(client.app)
    names = {name for _, name in parameters}
    assert {"offset", "limit", "before", "after", "tail"} <= names

    for path, name in parameters:
        path = re.sub(r"\{[^}]+\}", "web", path)
        answer = client.get(f"{path}?{name}={HUGE}", headers=auth)
        assert is_problem(answer, 400), (path, name, answer.text)
    still_works(client, auth)


@pytest.mark.parametrize("value", [HUGE, "²", "١٢"])
def test_the_dashboards_page_places_ignore_what_is_not_a_small_whole_number(
    client, auth, value
) -> None:
    client.post("/api/v1/apps", json={"name": "web"}, headers=auth)
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))

    assert client.get("/apps/web", params={"older": value}).status_code == 200
    assert client.get("/audit", params={"before": value}).status_code == 200


def test_a_resumed_stream_from_beyond_the_logs_end_is_refused_before_it_starts(
    client, auth
) -> None:
    client.post("/api/v1/apps", json=APP, headers=auth)
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)

    huge = client.get("/api/v1/events/stream", headers={**auth, "Last-Event-ID": HUGE})
    ahead = client.get("/api/v1/events/stream", params={"after": 10**6}, headers=auth)
    line = client.get(
        f"/api/v1/deployments/{deployment_id}/logs/stream",
        headers={**auth, "Last-Event-ID": HUGE},
    )

    assert is_problem(huge, 400)
    assert "Last-Event-ID must be a log position" in huge.json()["detail"]
    assert is_problem(ahead, 400)
    assert "the log ends at position" in ahead.json()["detail"]
    assert is_problem(line, 400)
    assert "Last-Event-ID must be a line number" in line.json()["detail"]
    still_works(client, auth)


def test_a_non_ascii_csrf_header_is_refused_not_an_error(
    client, auth, member, session_headers, log_types
) -> None:
    member("ann@example.com", "owner")
    good = session_headers("ann@example.com")
    before = log_types()

    answer = client.post(
        "/api/v1/apps", json={"name": "web"}, headers=[(b"X-CSRF-Token", "é".encode())]
    )

    assert is_problem(answer, 403), answer.text
    assert log_types() == before
    assert client.post("/api/v1/apps", json={"name": "web"}, headers=good).status_code == 201


def test_non_ascii_dashboard_form_tokens_are_refused_not_an_error(client, auth, member) -> None:
    member("ann@example.com", "owner")
    client.get("/login")  # the form cookie is set

    login = client.post("/login", data={"form_token": "é", "email": "ann@example.com"})
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    action = client.post("/apps", data={"csrf_token": "é", "name": "web"})
    client.cookies.set("rivetr_session", "rvs_x")
    logout = client.post("/logout", data={"csrf_token": "é"})

    assert [r.status_code for r in (login, action, logout)] == [403, 403, 403]
    assert client.get("/api/v1/apps", headers=auth).json() == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_an_api_body_that_is_not_json_is_refused_with_415(
    client, auth, content_type, log_types
) -> None:
    before = log_types()
    headers = {**auth, "Content-Type": content_type} if content_type else auth

    created = client.post("/api/v1/apps", content=b'{"name": "web"}', headers=headers)
    signed = client.post(
        "/api/v1/auth/login",
        content=b'{"email": "ann@example.com", "password": "x"}',
        headers={"Content-Type": content_type} if content_type else {},
    )

    assert is_problem(created, 415), created.text
    assert "Content-Type: application/json" in created.json()["detail"]
    assert is_problem(signed, 415)
    assert log_types() == before  # nothing was decided, not even a failed sign-in
    still_works(client, auth)


def test_a_json_media_type_with_a_suffix_or_parameters_is_json(client, auth) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        answer = client.post(
            "/api/v1/apps",
            content=b'{"name": "web"}',
            headers={**auth, "Content-Type": content_type},
        )
        assert answer.status_code == 201, (content_type, answer.text)
        client.delete("/api/v1/apps/web", headers=auth)


def test_the_dashboards_forms_still_post_as_forms(client, member) -> None:
    member("ann@example.com", "owner")
    page = client.get("/login").text
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    login = {"form_token": token, "email": "ann@example.com", "password": PASSWORD}
    assert client.post("/login", data=login, follow_redirects=False).status_code == 302
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/").text).group(1)

    made = client.post("/apps", data={"csrf_token": csrf, "name": "web"}, follow_redirects=False)

    assert made.status_code in (302, 303), made.text
    assert "web" in client.get("/").text
