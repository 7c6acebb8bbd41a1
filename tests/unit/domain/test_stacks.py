"""A compose stack's settings: made in an environment from one source, changed field by field,
its variables set and removed (sealed by the service), deployed and rolled back by release."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import projects, stack_releases, stacks
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    DeleteStack,
    DeployStack,
    RollBackStack,
    SetStackVariables,
    StackRouteInput,
)
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackCreated,
    StackReleaseRequested,
    StackServiceImageReady,
    StackServiceReady,
    StackServiceStarted,
    StackSourceFetched,
    StackSwitched,
)

ID = "st0000000001"
HOME = projects.initial_state("a", "default")
COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"


def create(**fields: object) -> list[Event]:
    fields.setdefault("compose", COMPOSE)
    command = CreateStack(name="blog", team="a", **fields)  # type: ignore[arg-type]
    sealed = {name: f"sealed:{value}" for name, value in command.variables.items()}
    return stacks.decide_create(stacks.StackState(stack_id=ID), HOME, command, sealed)


def state_after(*events: Event) -> stacks.StackState:
    return stacks.fold(ID, [*create(variables={"A": "1"}), *events])


def test_a_stack_is_made_in_an_environment_with_its_variables_sealed() -> None:
    route = StackRouteInput(service="web", port=80, domains=["blog.example.com"])
    [created] = create(routes=[route], variables={"DB_PASSWORD": "pw"})
    assert isinstance(created, StackCreated)
    assert (created.team, created.project, created.environment) == ("a", "default", "production")
    assert created.variables == {"DB_PASSWORD": "sealed:pw"}
    state = stacks.fold(ID, [created])
    assert (state.name, state.compose, state.domains) == ("blog", COMPOSE, ["blog.example.com"])


def test_a_stack_has_exactly_one_source() -> None:
    with pytest.raises(InvalidCommand, match="exactly one"):
        CreateStack(name="blog", team="a")
    with pytest.raises(InvalidCommand, match="exactly one"):
        msgspec.convert(
            {"name": "b", "git_url": "https://g/x.git", "compose": COMPOSE}, CreateStack
        )
    both = ChangeStackSettings(stack_id=ID, git_url="https://g/x.git")
    with pytest.raises(InvalidCommand, match="null the other"):
        stacks.decide_settings(state_after(), both)
    switched = ChangeStackSettings(stack_id=ID, git_url="https://g/x.git", compose=None)
    state = state_after(*stacks.decide_settings(state_after(), switched))
    assert (state.git_url, state.compose) == ("https://g/x.git", None)


def test_a_domain_is_routed_to_one_service_and_a_path_stays_in_the_repository() -> None:
    twice = [
        StackRouteInput(service="web", port=80, domains=["a.example.com"]),
        StackRouteInput(service="api", port=80, domains=["a.example.com"]),
    ]
    with pytest.raises(InvalidCommand, match="routed twice"):
        CreateStack(name="b", team="a", compose=COMPOSE, routes=twice)
    for path in ("../compose.yaml", "/etc/compose.yaml", "deploy/../../x.yaml"):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"name": "b", "compose": COMPOSE, "compose_path": path}, CreateStack)
    ok = msgspec.convert(
        {"name": "b", "compose": COMPOSE, "compose_path": "deploy/c.yml"}, CreateStack
    )
    assert ok.compose_path == "deploy/c.yml"


def test_names_a_reference_takes_and_reused_ids_and_missing_places_are_refused() -> None:
    with pytest.raises(InvalidCommand, match="referenced"):
        stacks.decide_create(
            stacks.StackState(stack_id=ID),
            HOME,
            CreateStack(name="project", team="a", compose=COMPOSE),
            {},
        )
    with pytest.raises(AlreadyExists):
        stacks.decide_create(
            state_after(), HOME, CreateStack(name="b", team="a", compose=COMPOSE), {}
        )
    with pytest.raises(NotFound, match="no environment 'staging'"):
        create(environment="staging")


def test_only_the_settings_given_change() -> None:
    [changed] = stacks.decide_settings(
        state_after(), ChangeStackSettings(stack_id=ID, watch_paths=["deploy/**"])
    )
    state = state_after(changed)
    assert (state.watch_paths, state.compose, state.branch) == (("deploy/**",), COMPOSE, "main")


def test_variables_are_set_and_removed_by_name_and_an_unchanged_set_records_nothing() -> None:
    command = SetStackVariables(stack_id=ID, variables={"B": "2", "A": None})
    [changed] = stacks.decide_variables(state_after(), command, {"B": "sealed:2"})
    assert state_after(changed).variables == {"B": "sealed:2"}
    none = SetStackVariables(stack_id=ID, variables={"GONE": None})
    assert stacks.decide_variables(state_after(), none, {}) == []


def test_a_deleted_stack_takes_no_more_commands() -> None:
    gone = state_after(*stacks.decide_delete(state_after(), DeleteStack(stack_id=ID)))
    with pytest.raises(NotFound):
        stacks.decide_deploy(gone, DeployStack(stack_id=ID), "sr0000000001")
    with pytest.raises(NotFound):
        stacks.decide_variables(gone, SetStackVariables(stack_id=ID, variables={}), {})


def test_an_inline_stack_has_no_commit_to_deploy() -> None:
    with pytest.raises(InvalidCommand, match="no commits"):
        stacks.decide_deploy(state_after(), DeployStack(stack_id=ID, commit="abc1234"), "r")
    [requested] = stacks.decide_deploy(state_after(), DeployStack(stack_id=ID), "sr0000000001")
    assert isinstance(requested, StackReleaseRequested)
    assert (requested.stack_id, requested.trigger) == (ID, "manual")


def served(release_id: str) -> stack_releases.StackReleaseState:
    return stack_releases.fold(
        release_id,
        [
            StackReleaseRequested(release_id=release_id, stack_id=ID),
            StackSourceFetched(release_id=release_id, commit_sha="abc", compose_digest="d"),
            StackComposeRead(release_id=release_id, waves=[["web"]]),
            StackServiceImageReady(release_id=release_id, service="web", image="sha256:1"),
            StackServiceStarted(release_id=release_id, service="web", container="c", mode="beside"),
            StackServiceReady(release_id=release_id, service="web"),
            StackSwitched(release_id=release_id),
        ],
    )


def test_a_rollback_asks_for_each_services_image_of_a_release_that_served() -> None:
    [requested] = stacks.decide_rollback(
        state_after(), RollBackStack(stack_id=ID, to="sr0000000001"), served("sr0000000001"), "n"
    )
    assert isinstance(requested, StackReleaseRequested)
    assert (requested.rollback_of, requested.images, requested.commit) == (
        "sr0000000001",
        {"web": "sha256:1"},
        "abc",
    )
    never = stack_releases.fold("x", [StackReleaseRequested(release_id="x", stack_id=ID)])
    with pytest.raises(InvalidCommand, match="never served"):
        stacks.decide_rollback(state_after(), RollBackStack(stack_id=ID, to="x"), never, "n")
    stranger = stack_releases.fold("y", [StackReleaseRequested(release_id="y", stack_id="other")])
    with pytest.raises(NotFound):
        stacks.decide_rollback(state_after(), RollBackStack(stack_id=ID, to="y"), stranger, "n")
