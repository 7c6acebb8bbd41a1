"""The dashboard's stack allowances: for the instance's administrators only, each team listed
with what its stacks may ask of the host and a labelled form to change it; a refusal shown on
the form; and the stack form showing an inline compose file's refusal beside its field."""

from __future__ import annotations

from typing import Any

from tests.web.page_parts import problem, text_of

PRIVILEGED = "services:\n  web:\n    image: nginx:1.27\n    privileged: true\n"


def test_only_an_instance_admin_sees_or_changes_them(
    client: Any, member: Any, session_headers: Any, log_types: Any
) -> None:
    member("ann@acme.test", "owner", "acme")
    token = session_headers("ann@acme.test")["X-CSRF-Token"]
    for path in ("/settings/stack-allowances", "/settings/stack-allowances/acme"):
        page = client.get(path)
        assert page.status_code == 403
        assert "administrators" in (text_of(page.text, "allowances-refused") or "")
    changed = client.post(
        "/settings/stack-allowances/acme", data={"csrf_token": token, "privileged": "on"}
    )
    assert changed.status_code == 403
    assert "only an instance admin" in changed.text
    assert "team.stack_allowances_set" not in log_types()


def test_an_instance_admin_allows_a_team_more_from_its_form(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    member("ann@acme.test", "owner", "acme")
    member("root@instance.test", "admin", "default")
    token = session_headers("root@instance.test")["X-CSRF-Token"]
    listed = client.get("/settings/stack-allowances")
    assert listed.status_code == 200
    assert "nothing beyond a container" in (text_of(listed.text, "stack-allowances") or "")
    form = client.get("/settings/stack-allowances/acme").text
    for name in ("privileged", "cap_add", "bind_prefixes", "ns_network"):
        assert f'<label for="f-{name}">' in form

    fields = {
        "csrf_token": token,
        "privileged": "on",
        "ns_network": "on",
        "cap_add": "NET_ADMIN, SYS_TIME",
        "bind_prefixes": "/srv/media\n",
    }
    saved = client.post("/settings/stack-allowances/acme", data=fields, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    allowed = call(services.stack_allowances.allowances, "acme")
    assert (allowed.privileged, allowed.cap_add, allowed.bind_prefixes) == (
        True,
        frozenset({"NET_ADMIN", "SYS_TIME"}),
        ("/srv/media",),
    )
    assert allowed.host_namespaces == frozenset({"network"})
    row = text_of(client.get("/settings/stack-allowances").text, "stack-allowances") or ""
    assert "capabilities NET_ADMIN, SYS_TIME" in row

    refused = client.post(
        "/settings/stack-allowances/acme", data={"csrf_token": token, "bind_prefixes": "/etc"}
    )
    assert refused.status_code == 422
    assert "the host's configuration" in (text_of(refused.text, "allowances-problem") or "")
    assert call(services.stack_allowances.allowances, "acme") == allowed


def test_the_stack_form_shows_an_inline_files_refusal_beside_it(
    client: Any, member: Any, session_headers: Any
) -> None:
    member("ann@example.com", "owner", "default")
    token = session_headers("ann@example.com")["X-CSRF-Token"]
    form = {
        "csrf_token": token,
        "name": "tools",
        "place": "default/default/production",
        "compose": PRIVILEGED,
    }
    answer = client.post("/stacks", data=form)
    assert answer.status_code == 422
    said = problem(answer.text, "compose") or ""
    assert said.startswith("compose.yaml:4: services.web.privileged: ")
