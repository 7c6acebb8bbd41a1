"""Decisions of the Project aggregate, and an app's place in it."""

from __future__ import annotations

import pytest

from rivetr.domain import application, projects
from rivetr.domain.commands import (
    CreateApp,
    CreateEnvironment,
    CreateProject,
    DeleteEnvironment,
    DeleteProject,
    MoveApp,
)
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    AppCreated,
    AppMoved,
    EnvironmentCreated,
    EnvironmentDeleted,
    ProjectCreated,
    ProjectDeleted,
)


def made(*commands: object, project: str = "shop") -> projects.ProjectState:
    state = projects.initial_state("acme", project)
    for command in commands:
        for event in projects.decide(state, command):  # type: ignore[arg-type]
            state = projects.evolve(state, event)
    return state


def test_every_team_has_a_default_project_with_production_without_an_event() -> None:
    state = projects.fold("acme/default", [])

    assert state.exists
    assert state.environments == ("production",)
    with pytest.raises(AlreadyExists):
        projects.decide(state, CreateProject(team="acme", project="default"))


def test_a_project_starts_with_production_first_whatever_it_is_given() -> None:
    [event] = projects.decide(
        projects.initial_state("acme", "shop"),
        CreateProject(team="acme", project="shop", environments=["staging", "production"]),
    )

    assert event == ProjectCreated(
        team="acme", project="shop", name="shop", environments=["production", "staging"]
    )


def test_environments_are_added_once_and_deleted_only_when_empty() -> None:
    state = made(CreateProject(team="acme", project="shop"))
    add = CreateEnvironment(team="acme", project="shop", environment="staging")
    assert projects.decide(state, add) == [
        EnvironmentCreated(team="acme", project="shop", environment="staging")
    ]
    state = made(CreateProject(team="acme", project="shop"), add)
    with pytest.raises(AlreadyExists, match="already has an environment 'staging'"):
        projects.decide(state, add)

    holding = DeleteEnvironment(
        team="acme", project="shop", environment="staging", holds=["app web"]
    )
    with pytest.raises(InvalidCommand, match="environment 'staging' still holds app web"):
        projects.decide(state, holding)
    empty = DeleteEnvironment(team="acme", project="shop", environment="staging")
    assert projects.decide(state, empty) == [
        EnvironmentDeleted(team="acme", project="shop", environment="staging")
    ]


def test_production_and_the_default_project_are_never_deleted() -> None:
    state = made(CreateProject(team="acme", project="shop"))
    with pytest.raises(InvalidCommand, match="production"):
        projects.decide(
            state, DeleteEnvironment(team="acme", project="shop", environment="production")
        )
    with pytest.raises(InvalidCommand, match="default project"):
        projects.decide(
            projects.fold("acme/default", []), DeleteProject(team="acme", project="default")
        )


def test_a_project_is_deleted_only_when_empty_and_then_can_be_made_again() -> None:
    state = made(CreateProject(team="acme", project="shop"))
    with pytest.raises(InvalidCommand, match="project 'shop' still holds app a, app b"):
        projects.decide(state, DeleteProject(team="acme", project="shop", holds=["app a", "app b"]))
    [deleted] = projects.decide(state, DeleteProject(team="acme", project="shop"))
    assert deleted == ProjectDeleted(team="acme", project="shop")
    gone = projects.evolve(state, deleted)
    assert not gone.exists
    with pytest.raises(NotFound, match="no project 'shop' in team 'acme'"):
        projects.decide(gone, CreateEnvironment(team="acme", project="shop", environment="x"))


def test_an_app_is_created_only_in_an_environment_that_exists() -> None:
    app = application.initial_state("a1")
    shop = made(CreateProject(team="acme", project="shop"))
    command = CreateApp(name="web", team="acme", project="shop", environment="staging")

    with pytest.raises(NotFound, match="no environment 'staging' in project 'shop'"):
        application.decide_create(app, shop, command)
    with pytest.raises(NotFound, match="no project 'shop'"):
        application.decide_create(app, projects.initial_state("acme", "shop"), command)
    [created] = application.decide_create(
        app, shop, CreateApp(name="web", team="acme", project="shop")
    )
    assert isinstance(created, AppCreated)
    assert (created.project, created.environment) == ("shop", "production")


def test_an_older_app_lives_in_the_default_project_in_production() -> None:
    state = application.fold("a1", [AppCreated(app_id="a1", name="web")])
    assert (state.project, state.environment) == ("default", "production")


def test_moving_an_app_records_where_from_and_where_to() -> None:
    app = application.fold("a1", [AppCreated(app_id="a1", name="web", team="acme")])
    shop = made(
        CreateProject(team="acme", project="shop"),
        CreateEnvironment(team="acme", project="shop", environment="staging"),
    )
    [moved] = application.decide_move(
        app, shop, MoveApp(name="web", project="shop", environment="staging")
    )

    assert moved == AppMoved(
        name="web",
        from_project="default",
        from_environment="production",
        project="shop",
        environment="staging",
    )
    there = application.evolve(app, moved)
    assert (there.project, there.environment) == ("shop", "staging")
    assert (
        application.decide_move(
            there, shop, MoveApp(name="web", project="shop", environment="staging")
        )
        == []
    )
    with pytest.raises(NotFound, match="no environment 'qa'"):
        application.decide_move(app, shop, MoveApp(name="web", project="shop", environment="qa"))
