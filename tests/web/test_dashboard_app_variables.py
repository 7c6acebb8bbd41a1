"""The dashboard's variables editor: names listed, values write-only, set, remove, and a
pasted .env file, refused at the line that is no variable."""

from __future__ import annotations

import pytest

from tests.web.dashboard_pages import csrf_of, events, problem_beside, value_of
from tests.web.test_api_deployments import APP


@pytest.fixture
def csrf(client, auth) -> str:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get("/apps/web/variables").text)


def test_a_variable_is_set_and_its_value_never_shown(client, csrf, call, services) -> None:
    assert 'id="no-variables"' in client.get("/apps/web/variables").text
    form = {"csrf_token": csrf, "name": "API_KEY", "value": "s3cret-value-xyz"}
    saved = client.post("/apps/web/variables", data=form, follow_redirects=False)
    assert saved.status_code in (302, 303)
    [change] = events(call, services, "app.env_changed")
    assert list(change.set) == ["API_KEY"]
    for path in ("/apps/web/variables?done=API_KEY", "/apps/web", "/apps/web/settings"):
        page = client.get(path).text
        assert "API_KEY" in page
        assert "s3cret-value-xyz" not in page
        assert change.set["API_KEY"] not in page  # nor its sealed form


def test_a_variable_is_removed(client, csrf, call, services) -> None:
    client.post("/apps/web/variables", data={"csrf_token": csrf, "name": "A", "value": "1"})
    removed = client.post(
        "/apps/web/variables/remove", data={"csrf_token": csrf, "name": "A"}, follow_redirects=False
    )
    assert removed.status_code in (302, 303)
    assert events(call, services, "app.env_changed")[-1].unset == ["A"]
    assert 'data-variable="A"' not in client.get("/apps/web/variables").text


def test_a_pasted_env_file_sets_every_variable_it_names(client, csrf, call, services) -> None:
    text = '# production\nexport DATABASE_URL="postgres://db/pasted"\n\nHOME_DIR=${HOME}\nMULTI="a\nb"\n'
    pasted = client.post("/apps/web/variables/paste", data={"csrf_token": csrf, "text": text})
    assert pasted.status_code == 200  # followed to the page
    [change] = events(call, services, "app.env_changed")
    assert sorted(change.set) == ["DATABASE_URL", "HOME_DIR", "MULTI"]
    shown = client.get("/apps/web/variables").text
    assert "postgres://db/pasted" not in shown


def test_a_pasted_line_that_is_no_variable_is_named_by_its_number(client, csrf, log_types) -> None:
    before = log_types()
    text = "GOOD=1\n# a comment\n\n2BAD=x\nSECRET_VALUE=hunter2-xyz\n"
    refused = client.post("/apps/web/variables/paste", data={"csrf_token": csrf, "text": text})
    assert refused.status_code == 422
    assert problem_beside(refused.text, "text").startswith("line 4: '2BAD' is not a variable name")
    assert "hunter2-xyz" not in refused.text  # never typed back
    no_equals = client.post(
        "/apps/web/variables/paste", data={"csrf_token": csrf, "text": "A=1\nB"}
    )
    assert problem_beside(no_equals.text, "text") == "line 2: B has no '=' and no value"
    assert log_types() == before


def test_a_bad_name_is_refused_beside_the_name_as_typed(client, csrf, log_types) -> None:
    before = log_types()
    form = {"csrf_token": csrf, "name": "1-bad", "value": "typed-secret-abc"}
    refused = client.post("/apps/web/variables", data=form)
    assert refused.status_code == 422
    assert problem_beside(refused.text, "name")
    assert value_of(refused.text, "name") == "1-bad"
    assert "typed-secret-abc" not in refused.text
    assert log_types() == before


def test_the_variables_forms_need_the_csrf_token_and_the_right_to_edit(
    client, csrf, member, session_headers, log_types
) -> None:
    before = log_types()
    assert client.post("/apps/web/variables", data={"name": "A", "value": "1"}).status_code == 403
    member("val@example.com", "viewer")
    headers = session_headers("val@example.com")
    assert "/apps/web/variables" in client.get("/apps/web").text
    form = {"csrf_token": headers["X-CSRF-Token"], "text": "A=1"}
    refused = client.post("/apps/web/variables/paste", data=form)
    api = client.patch("/api/v1/apps/web", json={"env": {"A": "1"}}, headers=headers)
    assert refused.status_code == api.status_code == 403
    assert [t for t in log_types()[len(before) :] if t.startswith("app.")] == []


def test_a_variable_is_set_with_its_scopes_and_a_preview_value(
    client, csrf, call, services
) -> None:
    page = client.get("/apps/web/variables").text
    assert 'name="build"' in page
    form = {
        "csrf_token": csrf,
        "name": "NPM_TOKEN",
        "value": "npm-secret-xyz",
        "scoped": "1",
        "build": "on",
        "preview_value": "preview-secret-xyz",
    }
    saved = client.post("/apps/web/variables", data=form)
    assert saved.status_code == 200
    [scoped] = events(call, services, "app.variable_scopes_changed")
    assert scoped.scopes["NPM_TOKEN"].build
    assert not scoped.scopes["NPM_TOKEN"].runtime
    assert list(scoped.preview_values) == ["NPM_TOKEN"]
    row = saved.text.split('data-variable="NPM_TOKEN"', 1)[1].split("</tr>", 1)[0]
    assert "build" in row
    assert "runtime" not in row
    assert "preview-secret-xyz" not in saved.text
    answer = client.get("/api/v1/apps/web/variables").json()
    assert answer == [
        {
            "name": "NPM_TOKEN",
            "build": True,
            "runtime": False,
            "preview": False,
            "preview_value": True,
        }
    ]


def test_a_variable_given_no_scope_is_refused_beside_its_name(client, csrf, log_types) -> None:
    before = log_types()
    form = {"csrf_token": csrf, "name": "A", "value": "1", "scoped": "1"}
    refused = client.post("/apps/web/variables", data=form)
    assert refused.status_code == 422
    assert "at least one of build, runtime or preview" in problem_beside(refused.text, "name")
    assert log_types() == before
