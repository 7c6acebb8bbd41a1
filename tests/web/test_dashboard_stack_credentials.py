"""The dashboard's stack forms take a private repository's credentials as the app forms do: a
password input for the token and a textarea for the key, write-only (never shown back, not
even after a refusal), "set" or "not set", left empty to keep, a box to remove one; an inline
stack refuses them beside the field."""

from __future__ import annotations

from typing import Any

from rivetr.domain.aggregates import STACKS
from tests.web.page_parts import problem, text_of
from tests.web.test_dashboard_stacks import COMPOSE, signed_in
from tests.web.test_databases_service import fold

REPO = "https://git.example.com/acme/blog.git"
TOKEN = "ghp_dashboard_token_never_shown"
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\r\n"
    "b3BlbnNzaC1rZXktdjEAAAAAdashboardkey\r\n"
    "-----END OPENSSH PRIVATE KEY-----\r\n"
)


def made(client: Any, token: str, **fields: str) -> Any:
    form = {"csrf_token": token, "name": "blog", "place": "default/default/production"}
    return client.post("/stacks", data={**form, "git_url": REPO, **fields}, follow_redirects=False)


def saved(client: Any, token: str, stack_id: str, **fields: str) -> Any:
    form = {"csrf_token": token, "git_url": REPO, **fields}
    return client.post(f"/stacks/{stack_id}/settings", data=form, follow_redirects=False)


def test_credentials_are_typed_write_only_shown_as_set_kept_when_empty_and_removed(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    csrf = signed_in(member, session_headers)
    new = client.get("/stacks/new").text
    assert 'type="password"' in new
    assert 'name="git_token"' in new
    assert "git_token-state" not in new
    assert "git_token-unset" not in new
    answer = made(client, csrf, git_token=TOKEN)
    assert answer.status_code in (302, 303), answer.text
    stack_id = str(answer.headers["location"]).rsplit("/", 1)[1]

    page = client.get(f"/stacks/{stack_id}/settings").text
    assert "set" in (text_of(page, "git_token-state") or "")
    assert "not set" in (text_of(page, "deploy_key-unset") or "")
    assert '<textarea id="f-deploy_key"' in page
    assert "with an access token" in (
        text_of(client.get(f"/stacks/{stack_id}").text, "git-auth") or ""
    )
    held = fold(call, services, STACKS, stack_id).git_token

    kept = saved(client, csrf, stack_id, branch="dev", git_token="", deploy_key=KEY)
    assert kept.status_code in (302, 303), kept.text
    state = fold(call, services, STACKS, stack_id)
    assert (state.git_token, state.branch) == (held, "dev")  # left empty: the token stays
    assert state.deploy_key is not None
    assert state.deploy_key.startswith("rvs2:")

    removed = saved(client, csrf, stack_id, git_token_remove="on")
    assert removed.status_code in (302, 303), removed.text
    page = client.get(f"/stacks/{stack_id}/settings").text
    assert text_of(page, "git_token-unset") is not None
    assert text_of(page, "deploy_key-state") is not None
    for path in ("/stacks", f"/stacks/{stack_id}", f"/stacks/{stack_id}/settings"):
        shown = client.get(path).text
        assert TOKEN not in shown
        assert "dashboardkey" not in shown


def test_an_inline_stack_refuses_a_token_beside_the_field_and_never_shows_it_back(
    client: Any, member: Any, session_headers: Any
) -> None:
    csrf = signed_in(member, session_headers)
    refused = made(client, csrf, git_url="", compose=COMPOSE, git_token=TOKEN)
    assert refused.status_code == 422
    assert "no repository to fetch" in (problem(refused.text, "git_token") or "")
    assert TOKEN not in refused.text


def test_who_may_not_change_the_source_sees_no_credential_inputs(
    client: Any, member: Any, session_headers: Any
) -> None:
    csrf = signed_in(member, session_headers)
    stack_id = str(made(client, csrf, git_token=TOKEN).headers["location"]).rsplit("/", 1)[1]
    member("dev@example.com", "developer", "default")
    session_headers("dev@example.com")
    page = client.get(f"/stacks/{stack_id}/settings").text
    assert 'name="git_token"' not in page
    assert "Its source and routes are changed by the team's admins." in page
