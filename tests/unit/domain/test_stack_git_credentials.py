"""A stack from a private repository holds the same git credentials an app does: given at
creation or changed later (null removes one), recorded as their own event, refused for an
inline stack and dropped when the stack is switched to inline."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import projects, stacks
from rivetr.domain.access import Permission, required_permission
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.event_base import Event
from rivetr.domain.git_credentials import credentials_after, git_auth
from rivetr.domain.stack_commands import ChangeStackSettings, CreateStack
from rivetr.domain.stack_events import (
    StackCreated,
    StackGitCredentialsChanged,
    StackSettingsChanged,
)

ID = "st0000000001"
HOME = projects.initial_state("a", "default")
REPO = "https://git.example.com/acme/blog.git"
COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n"


def create(**fields: object) -> list[Event]:
    command = CreateStack(name="blog", team="a", **fields)  # type: ignore[arg-type]
    return stacks.decide_create(stacks.StackState(stack_id=ID), HOME, command, {})


def change(state: stacks.StackState, **fields: object) -> list[Event]:
    return stacks.decide_settings(state, ChangeStackSettings(stack_id=ID, **fields))  # type: ignore[arg-type]


def test_a_git_stack_is_made_with_its_credentials_in_an_event_of_their_own() -> None:
    created, credentials = create(git_url=REPO, git_token="sealed-token", deploy_key="sealed-key")
    assert isinstance(created, StackCreated)
    assert credentials == StackGitCredentialsChanged(
        stack_id=ID, token="sealed-token", deploy_key="sealed-key"
    )
    state = stacks.fold(ID, [created, credentials])
    assert (state.git_token, state.deploy_key) == ("sealed-token", "sealed-key")
    assert git_auth(state.git_token, state.deploy_key) == ["deploy_key", "token"]
    assert [type(e) for e in create(git_url=REPO)] == [StackCreated]


def test_a_null_credential_removes_it_an_absent_one_keeps_it_and_the_same_one_records_nothing() -> (
    None
):
    state = stacks.fold(ID, create(git_url=REPO, git_token="t1", deploy_key="k1"))
    [removed] = change(state, git_token=None)
    assert removed == StackGitCredentialsChanged(stack_id=ID, token=None, deploy_key="k1")
    assert change(state, git_token="t1") == []
    [replaced] = change(state, deploy_key="k2")
    assert stacks.evolve(state, replaced).deploy_key == "k2"
    assert stacks.evolve(state, replaced).git_token == "t1"
    assert credentials_after(("t", None), msgspec.UNSET, msgspec.UNSET) is None


def test_credentials_changed_alone_record_no_empty_settings_event() -> None:
    state = stacks.fold(ID, create(git_url=REPO))
    assert [type(e) for e in change(state, git_token="t")] == [StackGitCredentialsChanged]
    both = change(state, branch="dev", git_token="t")
    assert [type(e) for e in both] == [StackSettingsChanged, StackGitCredentialsChanged]


def test_an_inline_stack_refuses_credentials_naming_the_field() -> None:
    with pytest.raises(InvalidCommand, match="no repository to fetch") as refused:
        msgspec.convert({"name": "b", "compose": COMPOSE, "git_token": "t"}, CreateStack)
    assert refused.value.field == "git_token"
    inline = stacks.fold(ID, create(compose=COMPOSE))
    with pytest.raises(InvalidCommand) as refused:
        change(inline, deploy_key=KEY)
    assert refused.value.field == "deploy_key"
    git = stacks.fold(ID, create(git_url=REPO))
    with pytest.raises(InvalidCommand) as refused:
        change(git, git_url=None, compose=COMPOSE, git_token="t")
    assert refused.value.field == "git_token"


def test_a_stack_switched_to_inline_drops_the_credentials_of_the_repository_it_left() -> None:
    state = stacks.fold(ID, create(git_url=REPO, git_token="t", deploy_key="k"))
    events = change(state, git_url=None, compose=COMPOSE)
    assert events[-1] == StackGitCredentialsChanged(stack_id=ID, token=None, deploy_key=None)
    after = stacks.fold(ID, [*create(git_url=REPO, git_token="t", deploy_key="k"), *events])
    assert (after.compose, after.git_token, after.deploy_key) == (COMPOSE, None, None)
    # an inline stack removing credentials it has not is no refusal: nothing to drop
    assert change(after, git_token=None) == []


def test_credentials_are_for_those_who_may_change_where_the_stack_comes_from() -> None:
    for fields in ({"git_token": "t"}, {"deploy_key": None}):
        command = ChangeStackSettings(stack_id=ID, **fields)  # type: ignore[arg-type]
        assert required_permission(command) == Permission.MANAGE_APPS
    assert required_permission(ChangeStackSettings(stack_id=ID, branch="x")) == (
        Permission.EDIT_APPS
    )


@pytest.mark.parametrize(
    "body",
    [
        {"git_token": "has space"},
        {"git_token": ""},
        {"deploy_key": "ssh-ed25519 AAAA a public key"},
    ],
)
def test_malformed_stack_credentials_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"name": "b", "git_url": REPO, **body}, CreateStack)
