"""Scopes of an app's variables: decided with its settings, gone with the variable, and what
the build, the container and a preview each take."""

from __future__ import annotations

import pytest

from rivetr.domain import application
from rivetr.domain.commands import ChangeAppSettings, CreateApp, VariableScopeInput
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.events import AppVariableScopesChanged, Event, VariableScope
from rivetr.domain.projects import initial_state as project
from rivetr.domain.scopes import DEFAULT, for_preview, split

BUILD_ONLY = VariableScopeInput(build=True, runtime=False, preview=False)


def app_with(**env: str) -> application.AppState:
    state = application.initial_state("k3j9x2m4q8w7")
    created = application.decide_create(
        state, project("default", "default"), CreateApp(name="web", env=env)
    )
    for event in created:
        state = application.evolve(state, event)
    return state


def change(state: application.AppState, **fields: object) -> list[Event]:
    return application.decide(state, ChangeAppSettings(name="web", **fields))  # type: ignore[arg-type]


def fold(state: application.AppState, events: list[Event]) -> application.AppState:
    for event in events:
        state = application.evolve(state, event)
    return state


def test_a_variable_without_scopes_is_runtime_and_preview_as_before() -> None:
    assert app_with(A="1").env_scopes == {}
    assert VariableScope(build=False, runtime=True, preview=True) == DEFAULT


def test_scopes_and_a_preview_value_are_set_and_kept() -> None:
    state = app_with(TOKEN="t", HOST="h")
    events = change(state, env_scopes={"TOKEN": BUILD_ONLY}, env_preview={"HOST": "sealed-p"})
    assert events == [
        AppVariableScopesChanged(
            name="web",
            scopes={"TOKEN": VariableScope(build=True, runtime=False, preview=False)},
            preview_values={"HOST": "sealed-p"},
        )
    ]
    state = fold(state, events)
    assert change(state, env_scopes={"TOKEN": BUILD_ONLY}, env_preview={"HOST": "sealed-p"}) == []
    assert change(state, env_preview={"HOST": None}) == [
        AppVariableScopesChanged(name="web", preview_unset=["HOST"])
    ]


def test_a_variable_set_in_the_same_change_may_be_given_scopes() -> None:
    events = change(app_with(), env={"NEW": "v"}, env_scopes={"NEW": BUILD_ONLY})
    assert [type(e).__name__ for e in events] == ["AppEnvChanged", "AppVariableScopesChanged"]


def test_scopes_of_a_variable_the_app_lacks_or_of_none_are_refused() -> None:
    with pytest.raises(InvalidCommand, match=r"env_scopes\.NOPE: there is no variable NOPE"):
        change(app_with(), env_scopes={"NOPE": BUILD_ONLY})
    with pytest.raises(InvalidCommand, match=r"env_preview\.NOPE"):
        change(app_with(), env_preview={"NOPE": "x"})
    nothing = VariableScopeInput(build=False, runtime=False, preview=False)
    with pytest.raises(InvalidCommand, match="at least one of build, runtime or preview"):
        change(app_with(A="1"), env_scopes={"A": nothing})


def test_a_removed_variable_takes_its_scope_and_preview_value_with_it() -> None:
    state = app_with(A="1")
    state = fold(state, change(state, env_scopes={"A": BUILD_ONLY}, env_preview={"A": "p"}))
    state = fold(state, change(state, env={"A": None}))
    state = fold(state, change(state, env={"A": "2"}))
    assert (state.env_scopes, state.env_preview) == ({}, {})


def test_the_build_the_container_and_previews_each_take_their_own() -> None:
    scopes = {
        "BUILD_ONLY": VariableScope(build=True, runtime=False, preview=False),
        "BOTH": VariableScope(build=True, runtime=True, preview=False),
        "PREVIEW_ONLY": VariableScope(build=False, runtime=False, preview=True),
    }
    values = {"BUILD_ONLY": "b", "BOTH": "x", "PREVIEW_ONLY": "p", "PLAIN": "r"}
    assert split(values, scopes) == ({"BUILD_ONLY": "b", "BOTH": "x"}, {"BOTH": "x", "PLAIN": "r"})
    assert for_preview(values, scopes, {"PLAIN": "preview value"}) == {
        "PREVIEW_ONLY": "p",
        "PLAIN": "preview value",
    }
