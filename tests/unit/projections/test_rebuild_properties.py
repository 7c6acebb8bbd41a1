"""For any generated history, applying it as it arrives and rebuilding from zero give the same
read tables, and the apps table agrees with the state the domain folds from the same events."""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import anyio
import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain import application, tokens
from rivetr.domain.application import AppState
from rivetr.domain.commands import (
    ChangeAppSettings,
    CreateApp,
    CreateToken,
    DeleteApp,
    RevokeToken,
)
from rivetr.domain.errors import DomainError
from rivetr.domain.events import EngineConnected, Event
from rivetr.domain.settings import BuildSettings, HealthCheck
from rivetr.domain.tokens import TokenState
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner

APP_NAMES = ["web", "api", "worker"]
TOKEN_IDS = ["t1", "t2", "t3"]
TABLES = ["apps", "tokens", "audit", "projection_checkpoints"]

ports = st.integers(min_value=1, max_value=65535)
env_names = st.sampled_from(["A", "B", "DATABASE_URL", "_X"])
env_values = st.sampled_from(["", "1", "2", "postgres://db/x"])
# some timeouts exceed some deadlines, so the domain refuses a share of the commands
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
    "domains": st.lists(
        st.sampled_from(["a.example.com", "b.example.com", "*.apps.example.org"]), max_size=3
    ),
    "health": health,
}


def app_commands(name: str) -> st.SearchStrategy[Any]:
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
    # env-only changes, most of them setting or removing a name, so that set and unset both occur
    env_change = st.dictionaries(env_names, st.none() | env_values, min_size=1, max_size=3).map(
        lambda env: ChangeAppSettings(name=name, env=env)
    )
    return st.one_of(create, change, env_change, env_change, st.just(DeleteApp(name=name)))


def token_commands(token_id: str) -> st.SearchStrategy[Any]:
    # the hash follows from the id: two live tokens never share a secret
    secret_hash = hashlib.sha256(token_id.encode()).hexdigest()
    create = st.builds(
        CreateToken,
        token_id=st.just(token_id),
        name=st.sampled_from(["ci", "deploy bot", "  "]),  # a blank name is refused
        secret_hash=st.just(secret_hash),
        scope=st.sampled_from(["read", "deploy", "admin"]),
    )
    return st.one_of(create, st.just(RevokeToken(token_id=token_id)))


engine_events = st.builds(
    EngineConnected,
    kind=st.sampled_from(["docker", "podman"]),
    version=st.just("27.0"),
    url=st.just("unix:///run/docker.sock"),
)

# each step: what to do, who does it, and the runner's page size for the catch-up that follows
steps = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(APP_NAMES).flatmap(app_commands),
            st.sampled_from(APP_NAMES).flatmap(app_commands),
            st.sampled_from(APP_NAMES).flatmap(app_commands),
            st.sampled_from(TOKEN_IDS).flatmap(token_commands),
            engine_events,
        ),
        st.sampled_from(["admin", "ci", "webhook:github"]),
        st.integers(min_value=1, max_value=3),
    ),
    min_size=15,
    max_size=40,
)


class Folded(msgspec.Struct):
    apps: dict[str, AppState]
    tokens: dict[str, TokenState]


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}")) for table in TABLES}
    finally:
        conn.close()


async def play(
    store: InMemoryEventStore, runner: ProjectionRunner, history: list[tuple[Any, str, int]]
) -> Folded:
    """Decide each command against the folded state, append what it produced, and catch the
    runner up after every append with the step's page size."""
    folded = Folded(
        apps={name: application.initial_state(name) for name in APP_NAMES},
        tokens={token_id: TokenState(token_id=token_id) for token_id in TOKEN_IDS},
    )
    for number, (step, actor, page) in enumerate(history):
        meta = EventMeta(actor=actor, correlation_id=f"req-{number}")
        events: list[Event]
        if isinstance(step, EngineConnected):
            await store.append("engine", None, [step], meta)
        elif isinstance(step, CreateToken | RevokeToken):
            token = folded.tokens[step.token_id]
            try:
                events = tokens.decide(token, step)
            except DomainError:
                continue
            if not events:
                continue
            await store.append(tokens.stream_id(step.token_id), None, events, meta)
            for event in events:
                token = tokens.evolve(token, event)
            folded.tokens[step.token_id] = token
        else:
            app = folded.apps[step.name]
            try:
                events = application.decide(app, step)
            except DomainError:
                continue
            if not events:
                continue
            await store.append(application.stream_id(step.name), None, events, meta)
            for event in events:
                app = application.evolve(app, event)
            folded.apps[step.name] = app
        runner.page = page
        await runner.catch_up()
    return folded


def assert_apps_agree_with_the_domain(
    tables: dict[str, list[tuple[Any, ...]]], folded: Folded
) -> None:
    rows = {row[0]: row for row in tables["apps"]}
    assert set(rows) == {name for name, state in folded.apps.items() if state.exists}
    for name, row in rows.items():
        state = folded.apps[name]
        _, git_url, branch, build_json, port, domains, health_json, env_names_json = row[:8]
        assert (git_url, branch, port) == (state.git_url, state.branch, state.port)
        assert msgspec.json.decode(build_json, type=BuildSettings) == state.build
        assert msgspec.json.decode(health_json, type=HealthCheck) == state.health
        assert msgspec.json.decode(domains) == list(state.domains)
        assert msgspec.json.decode(env_names_json) == sorted(state.env)


def assert_tokens_agree_with_the_domain(
    tables: dict[str, list[tuple[Any, ...]]], folded: Folded
) -> None:
    rows = {row[0]: row for row in tables["tokens"]}
    assert set(rows) == {token_id for token_id, t in folded.tokens.items() if t.exists}
    for token_id, row in rows.items():
        assert (row[-1] is not None) is folded.tokens[token_id].revoked


async def check_history(directory: Path, history: list[tuple[Any, str, int]]) -> None:
    store = InMemoryEventStore()
    incremental = ProjectionRunner(store, directory / "incremental.db", all_projections())
    from_zero = ProjectionRunner(store, directory / "from-zero.db", all_projections())
    await incremental.open()
    await from_zero.open()
    try:
        folded = await play(store, incremental, history)
        head = await store.head()
        assert await from_zero.catch_up() == head
        assert incremental.failures == {} == from_zero.failures

        built_as_it_came = dump(directory / "incremental.db")
        built_from_zero = dump(directory / "from-zero.db")
        assert built_as_it_came == built_from_zero
        assert {row[1] for row in built_as_it_came["projection_checkpoints"]} == {head}
        assert [row[0] for row in built_as_it_came["audit"]] == list(range(1, head + 1))
        assert_apps_agree_with_the_domain(built_as_it_came, folded)
        assert_tokens_agree_with_the_domain(built_as_it_came, folded)

        incremental.page = 2000
        assert await incremental.rebuild() == head
        assert dump(directory / "incremental.db") == built_from_zero
    finally:
        await incremental.close()
        await from_zero.close()


@given(steps)
@settings(max_examples=60, deadline=None)
def test_applying_events_as_they_arrive_equals_rebuilding_from_zero(
    history: list[tuple[Any, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(check_history, Path(directory), history)
