"""Properties of the Application aggregate over generated command histories."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.domain import application, codec
from rivetr.domain.application import AppCommand, AppState
from rivetr.domain.commands import ChangeAppSettings, CreateApp, DeleteApp
from rivetr.domain.errors import DomainError
from rivetr.domain.events import Event

NAMES = ["web", "api", "worker"]

ports = st.integers(min_value=1, max_value=65535)
domain_lists = st.lists(
    st.sampled_from(["a.example.com", "b.example.com", "*.apps.example.org", "localhost"]),
    max_size=4,
)
env_names = st.sampled_from(["A", "B", "DATABASE_URL", "_X"])
env_values = st.sampled_from(["", "1", "2", "postgres://db/x"])
# timeouts and deadlines drawn so that some health checks are inconsistent and refused
health = st.fixed_dictionaries(
    {},
    optional={
        "path": st.sampled_from(["/", "/healthz"]),
        "timeout_s": st.sampled_from([1.0, 5.0, 45.0]),
        "boot_deadline_s": st.sampled_from([10.0, 30.0]),
        "port": st.none() | ports,
    },
)
build = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["auto", "dockerfile", "static"]),
        "build_args": st.dictionaries(env_names, env_values, max_size=2),
    },
)
settings_fields: dict[str, st.SearchStrategy[Any]] = {
    "git_url": st.none() | st.sampled_from(["https://example.com/a.git", "git@host:b.git"]),
    "branch": st.sampled_from(["main", "develop", "release/1"]),
    "build": build,
    "port": ports,
    "domains": domain_lists,
    "health": health,
}


def commands_for(name: str) -> st.SearchStrategy[AppCommand]:
    create = st.fixed_dictionaries(
        {"name": st.just(name)},
        optional={**settings_fields, "env": st.dictionaries(env_names, env_values, max_size=3)},
    ).map(lambda body: msgspec.convert(body, CreateApp))
    change = st.fixed_dictionaries(
        {"name": st.just(name)},
        optional={
            **settings_fields,
            "env": st.dictionaries(env_names, st.none() | env_values, max_size=3),
        },
    ).map(lambda body: msgspec.convert(body, ChangeAppSettings))
    delete = st.just(DeleteApp(name=name))
    return st.one_of(create, change, change, delete)


command_sequences = st.lists(st.sampled_from(NAMES).flatmap(commands_for), max_size=40)


class History(msgspec.Struct):
    states: dict[str, AppState]
    events: dict[str, list[Event]]
    accepted: list[tuple[AppCommand, list[Event]]]


def play(commands: list[AppCommand]) -> History:
    """Run each command against the current state, as the application service would, skipping
    the ones the domain refuses."""
    history = History(
        states={name: application.initial_state(name) for name in NAMES},
        events={name: [] for name in NAMES},
        accepted=[],
    )
    for command in commands:
        state = history.states[command.name]
        try:
            events = application.decide(state, command)
        except DomainError:
            continue
        for event in events:
            state = application.evolve(state, event)
        history.states[command.name] = state
        history.events[command.name].extend(events)
        history.accepted.append((command, events))
    return history


@given(command_sequences)
@settings(max_examples=300)
def test_folding_the_whole_history_equals_the_state_built_step_by_step(
    commands: list[AppCommand],
) -> None:
    history = play(commands)

    for name in NAMES:
        assert application.fold(name, history.events[name]) == history.states[name]


@given(command_sequences)
def test_folding_the_stored_and_reloaded_history_gives_the_same_state(
    commands: list[AppCommand],
) -> None:
    history = play(commands)

    for name in NAMES:
        reloaded = [codec.decode(*codec.encode(e)) for e in history.events[name]]
        assert application.fold(name, reloaded) == history.states[name]


@given(command_sequences)
def test_every_event_survives_encoding_and_decoding(commands: list[AppCommand]) -> None:
    for name in NAMES:
        for event in play(commands).events[name]:
            tag, version, data = codec.encode(event)
            assert codec.decode(tag, version, data) == event


@given(command_sequences)
def test_an_app_exists_exactly_when_its_last_create_or_delete_was_a_create(
    commands: list[AppCommand],
) -> None:
    history = play(commands)

    for name in NAMES:
        last = None
        for command, _ in history.accepted:
            if command.name == name and isinstance(command, CreateApp | DeleteApp):
                last = command
        assert history.states[name].exists is isinstance(last, CreateApp)


@given(command_sequences)
def test_an_accepted_settings_change_repeated_changes_nothing(
    commands: list[AppCommand],
) -> None:
    states = {name: application.initial_state(name) for name in NAMES}

    for command, events in play(commands).accepted:
        state = states[command.name]
        for event in events:
            state = application.evolve(state, event)
        states[command.name] = state
        if isinstance(command, ChangeAppSettings):
            assert application.decide(state, command) == []


@given(command_sequences)
def test_every_event_names_the_app_whose_stream_it_belongs_to(
    commands: list[AppCommand],
) -> None:
    for name, events in play(commands).events.items():
        assert all(getattr(e, "name", None) == name for e in events)
