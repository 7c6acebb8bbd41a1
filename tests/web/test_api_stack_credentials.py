"""A stack's git credentials through /api/v1/stacks: taken write-only (sealed, bound to the
stack, before they reach the log), answered only as which are set, removed by null, refused
for an inline stack naming the field, and changed only by who may change its source."""

from __future__ import annotations

from typing import Any

from rivetr.domain.aggregates import STACKS
from rivetr.service.commands.secrets import open_credentials
from rivetr.service.commands.stacks import owner
from tests.web.test_databases_service import fold

PROBLEM = "application/problem+json"
REPO = "https://git.example.com/acme/blog.git"
COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"
TOKEN = "ghp_stacktoken0123456789"
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAAstackkey\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def made(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/stacks", json={"name": "blog", **fields}, headers=auth)
    assert answer.status_code == 201, answer.text
    return answer.json()


def logged(call: Any, services: Any) -> bytes:
    return b"\n".join(event.data for event in call(services.store.read_all))


def test_credentials_are_sealed_for_the_stack_and_answered_only_as_set(
    client, auth, call, services, log_types
) -> None:
    stack = made(client, auth, git_url=REPO, git_token=TOKEN, deploy_key=KEY)
    stack_id = stack["stack_id"]
    assert stack["git_auth"] == ["deploy_key", "token"]
    read = client.get(f"/api/v1/stacks/{stack_id}", headers=auth)
    listed = client.get("/api/v1/stacks", headers=auth)
    for text in (str(stack), read.text, listed.text, logged(call, services).decode()):
        assert TOKEN not in text
        assert "stackkey" not in text
    assert "stack.git_credentials_changed" in log_types()
    state = fold(call, services, STACKS, stack_id)
    assert state.git_token.startswith("rvs2:")
    assert open_credentials(
        services.secrets, owner(stack_id), state.git_token, state.deploy_key
    ) == (TOKEN, KEY)


def test_a_null_removes_a_credential_and_the_same_one_again_appends_nothing(
    client, auth, log_types
) -> None:
    stack_id = made(client, auth, git_url=REPO, git_token=TOKEN, deploy_key=KEY)["stack_id"]
    before = log_types()
    again = client.patch(f"/api/v1/stacks/{stack_id}", json={"git_token": TOKEN}, headers=auth)
    assert again.status_code == 200, again.text
    assert log_types() == before
    removed = client.patch(f"/api/v1/stacks/{stack_id}", json={"deploy_key": None}, headers=auth)
    assert removed.json()["git_auth"] == ["token"]
    assert log_types()[len(before) :] == ["stack.git_credentials_changed"]
    inline = client.patch(
        f"/api/v1/stacks/{stack_id}", json={"git_url": None, "compose": COMPOSE}, headers=auth
    )
    assert (inline.json()["inline"], inline.json()["git_auth"]) == (True, [])


def test_an_inline_stack_refuses_credentials_naming_the_field(client, auth) -> None:
    given = client.post(
        "/api/v1/stacks", json={"name": "b", "compose": COMPOSE, "git_token": TOKEN}, headers=auth
    )
    assert (given.status_code, given.headers["content-type"]) == (422, PROBLEM)
    assert "git_token" in given.json()["detail"]
    stack_id = made(client, auth, compose=COMPOSE)["stack_id"]
    later = client.patch(f"/api/v1/stacks/{stack_id}", json={"deploy_key": KEY}, headers=auth)
    assert later.status_code == 422
    assert "deploy_key" in later.json()["detail"]


def test_a_sealed_or_malformed_credential_is_refused(client, auth) -> None:
    for given, status in (
        ({"git_token": "rvs2:k1:AAAA"}, 422),
        ({"deploy_key": "ssh-ed25519 AAAA a public key"}, 400),
    ):
        body = {"name": "b", "git_url": REPO, **given}
        answer = client.post("/api/v1/stacks", json=body, headers=auth)
        assert answer.status_code == status
        assert next(iter(given)) in answer.text


def test_a_developer_changes_the_branch_but_not_the_credentials(
    client, auth, member, session_headers
) -> None:
    stack_id = made(client, auth, git_url=REPO)["stack_id"]
    member("dev@example.com", "developer")
    headers = session_headers("dev@example.com")
    path = f"/api/v1/stacks/{stack_id}"
    assert client.patch(path, json={"git_token": TOKEN}, headers=headers).status_code == 403
    assert client.patch(path, json={"branch": "dev"}, headers=headers).status_code == 200
    assert client.get(path, headers=auth).json()["git_auth"] == []
