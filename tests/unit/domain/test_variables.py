"""Shared variables: decided on the team's and the project's streams, gone with what held them."""

from __future__ import annotations

import pytest

from rivetr.domain.commands import ChangeProjectVariables, ChangeTeamVariables
from rivetr.domain.errors import NotFound
from rivetr.domain.events import (
    EnvironmentCreated,
    EnvironmentDeleted,
    Event,
    ProjectCreated,
    ProjectDeleted,
    ProjectVariablesChanged,
    TeamCreated,
    TeamDeleted,
    TeamVariablesChanged,
)
from rivetr.domain.variables import decide_project, decide_team, fold_project, fold_team

ACME = TeamCreated(team="acme", name="Acme", owner="ann@example.com")
SHOP = ProjectCreated(team="acme", project="shop", name="Shop", environments=["production"])
STAGING = EnvironmentCreated(team="acme", project="shop", environment="staging")


def team_change(events: list[Event], **variables: str | None) -> list[Event]:
    command = ChangeTeamVariables(team="acme", variables=variables)
    return decide_team(fold_team("acme", events), command)


def project_change(
    events: list[Event], environment: str | None = None, **variables: str | None
) -> list[Event]:
    command = ChangeProjectVariables(
        team="acme", project="shop", environment=environment, variables=variables
    )
    return decide_project(fold_project("acme/shop", events), command)


def test_a_team_sets_and_removes_its_variables() -> None:
    assert team_change([ACME], HOST="s1", GONE=None) == [
        TeamVariablesChanged(team="acme", set={"HOST": "s1"})
    ]
    history: list[Event] = [ACME, TeamVariablesChanged(team="acme", set={"HOST": "s1"})]
    assert team_change(history, HOST=None) == [TeamVariablesChanged(team="acme", unset=["HOST"])]


def test_an_unchanged_value_appends_nothing() -> None:
    history: list[Event] = [ACME, TeamVariablesChanged(team="acme", set={"HOST": "s1"})]
    assert team_change(history, HOST="s1") == []


def test_the_default_team_has_variables_without_being_created() -> None:
    command = ChangeTeamVariables(team="default", variables={"A": "s"})
    assert decide_team(fold_team("default", []), command) == [
        TeamVariablesChanged(team="default", set={"A": "s"})
    ]


def test_a_team_that_does_not_exist_has_no_variables() -> None:
    with pytest.raises(NotFound):
        team_change([], A="s")


def test_a_deleted_team_takes_its_variables_with_it() -> None:
    history: list[Event] = [
        ACME,
        TeamVariablesChanged(team="acme", set={"HOST": "s1"}),
        TeamDeleted(team="acme"),
        ACME,
    ]
    assert fold_team("acme", history).shared.values == {}


def test_project_and_environment_variables_are_kept_apart() -> None:
    history: list[Event] = [
        SHOP,
        STAGING,
        ProjectVariablesChanged(team="acme", project="shop", set={"A": "p"}),
        ProjectVariablesChanged(team="acme", project="shop", environment="staging", set={"A": "e"}),
    ]
    state = fold_project("acme/shop", history)
    assert state.of(None).values == {"A": "p"}
    assert state.of("staging").values == {"A": "e"}
    assert state.of("production").values == {}
    assert project_change(history, "staging", A=None) == [
        ProjectVariablesChanged(team="acme", project="shop", environment="staging", unset=["A"])
    ]


def test_an_environment_must_exist_to_hold_variables() -> None:
    with pytest.raises(NotFound, match="no environment 'staging'"):
        project_change([SHOP], "staging", A="s")
    with pytest.raises(NotFound, match="no project 'shop'"):
        project_change([], None, A="s")


def test_the_default_project_has_variables_without_being_created() -> None:
    command = ChangeProjectVariables(
        team="acme", project="default", environment="production", variables={"A": "s"}
    )
    assert decide_project(fold_project("acme/default", []), command) != []


def test_a_deleted_environment_or_project_takes_its_variables_with_it() -> None:
    history: list[Event] = [
        SHOP,
        STAGING,
        ProjectVariablesChanged(team="acme", project="shop", set={"A": "p"}),
        ProjectVariablesChanged(team="acme", project="shop", environment="staging", set={"A": "e"}),
        EnvironmentDeleted(team="acme", project="shop", environment="staging"),
        STAGING,
    ]
    assert fold_project("acme/shop", history).of("staging").values == {}
    assert fold_project("acme/shop", history).of(None).values == {"A": "p"}
    gone = fold_project("acme/shop", [*history, ProjectDeleted(team="acme", project="shop"), SHOP])
    assert gone.of(None).values == {}
