"""For any generated history of compose stacks and their releases (made through the domain's
decisions, each release step appended only when `advance` takes it, as the deployer does),
applying it as it arrives and rebuilding from zero give the same tables, and the views agree
with the states the domain folds."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import anyio
import hypothesis
import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain import projects, stack_releases, stacks
from rivetr.domain.errors import DomainError
from rivetr.domain.event_base import Event
from rivetr.domain.git_credentials import git_auth
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    DeleteStack,
    DeployStack,
    DisableStackWebhook,
    SetStackVariables,
    SetStackWebhookSecret,
    StackRouteInput,
)
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackReleaseFailed,
    StackReleaseSuperseded,
    StackServiceImageReady,
    StackServiceReady,
    StackServiceStarted,
    StackSourceFetched,
    StackSwitched,
)
from rivetr.projections.reading import columns, row_as
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner
from rivetr.projections.stacks import StackReleaseView, StackServiceView, StackView

TABLES = ["stacks", "stack_releases", "stack_services", "stack_steps", "audit"]
STACKS = [f"st000000000{n}" for n in range(2)]
RELEASES = [f"sr000000000{n}" for n in range(4)]
SERVICES = ("db", "web")
COMPOSE = "services: {db: {image: postgres}, web: {image: nginx}}"
# what a settings change gives of the git credentials (sealed by the service); "inline": the
# stack switched to an inline file, which drops them
CREDENTIALS: list[dict[str, Any] | str] = [
    {"git_token": "sealed:t"},
    {"git_token": None},
    {"deploy_key": "sealed:k"},
    {"git_token": "sealed:u", "deploy_key": None},
    "inline",
]


def natural_step(state: stack_releases.StackReleaseState) -> tuple[int, int]:
    """The step (kind and service, as `release_step` takes them) a working deployer would
    report next."""
    if state.status in ("requested", "source_fetched"):
        return {"requested": 0, "source_fetched": 1}[state.status], 0
    for kind, lacking in (
        (2, lambda run: run.image is None),
        (3, lambda run: run.container is None),
        (4, lambda run: not run.ready),
    ):
        for name, run in state.services.items():
            if lacking(run):
                return kind, SERVICES.index(name)
    return (5 if state.status == "starting" else 7), 0


def release_step(state: stack_releases.StackReleaseState, kind: int, service: int) -> Event:
    """A step the deployer could report (kind > 7: the next one a working deployer would);
    `advance` decides whether the release takes it."""
    release_id = state.release_id
    if kind > 7:
        kind, service = natural_step(state)
    name = SERVICES[service]
    return [
        StackSourceFetched(release_id=release_id, commit_sha=None, compose_digest="d"),
        StackComposeRead(release_id=release_id, waves=[["db"], ["web"]], warnings=["w"]),
        StackServiceImageReady(release_id=release_id, service=name, image=f"sha256:{name}"),
        StackServiceStarted(release_id=release_id, service=name, container=name, mode="beside"),
        StackServiceReady(release_id=release_id, service=name),
        StackSwitched(release_id=release_id),
        StackReleaseFailed(release_id=release_id, step="health", reason="x", service=name),
        StackReleaseSuperseded(release_id=release_id, by="sr0000000009"),
    ][kind]


steps = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(STACKS), st.sampled_from(["a", "b"])),
    st.tuples(st.just("settings"), st.sampled_from(STACKS), st.booleans()),
    st.tuples(st.just("variables"), st.sampled_from(STACKS), st.sampled_from(["A", "B"])),
    st.tuples(st.just("delete"), st.sampled_from(STACKS), st.none()),
    st.tuples(st.just("webhook"), st.sampled_from(STACKS), st.sampled_from(["x", "y", None])),
    st.tuples(st.just("credentials"), st.sampled_from(STACKS), st.sampled_from(CREDENTIALS)),
    st.tuples(st.just("deploy"), st.sampled_from(STACKS), st.sampled_from(RELEASES)),
    *[
        st.tuples(
            st.just("step"),
            st.integers(0, 5),
            st.tuples(st.sampled_from([*[8] * 24, *range(8)]), st.integers(0, 1)),
        )
    ]
    * 8,
)


class World(msgspec.Struct):
    stacks: dict[str, stacks.StackState] = msgspec.field(default_factory=dict)
    releases: dict[str, stack_releases.StackReleaseState] = msgspec.field(default_factory=dict)


def decide(world: World, step: tuple[str, Any, Any]) -> tuple[str, list[Event]]:
    kind, key, arg = step
    if kind == "step":  # on one of the releases there are
        if not world.releases:
            return "", []
        release = list(world.releases.values())[int(key) % len(world.releases)]
        event = release_step(release, *arg)
        return stack_releases.stream_id(release.release_id), stack_releases.advance(release, event)
    stack = world.stacks.get(key, stacks.StackState(stack_id=key))
    events: list[Event]
    if kind == "create":
        # team b's stacks come from a repository (their webhooks can be on), a's are inline
        source: dict[str, Any] = {"compose": COMPOSE}
        if arg == "b":
            source = {"git_url": "https://g.test/r", "git_token": "sealed:first"}
        command = CreateStack(name=f"s{key[-1]}", team=arg, **source)
        home = projects.initial_state(arg, "default")
        events = stacks.decide_create(stack, home, command, {})
    elif kind == "settings":
        route = StackRouteInput(service="web", port=80, domains=[f"{key}.example.com"])
        command2 = ChangeStackSettings(stack_id=key, routes=[route] if arg else [])
        events = stacks.decide_settings(stack, command2)
    elif kind == "variables":
        events = stacks.decide_variables(
            stack, SetStackVariables(stack_id=key, variables={arg: "v"}), {arg: f"sealed:{arg}"}
        )
    elif kind == "credentials":
        given = {"git_url": None, "compose": COMPOSE} if arg == "inline" else arg
        events = stacks.decide_settings(stack, ChangeStackSettings(stack_id=key, **given))
    elif kind == "delete":
        events = stacks.decide_delete(stack, DeleteStack(stack_id=key))
    elif kind == "webhook":
        events = (
            stacks.decide_webhook_disabled(stack, DisableStackWebhook(stack_id=key))
            if arg is None
            else stacks.decide_webhook_secret(
                stack, SetStackWebhookSecret(stack_id=key, secret=f"sealed:{arg}")
            )
        )
    else:
        if arg in world.releases:
            return "", []
        events = stacks.decide_deploy(stack, DeployStack(stack_id=key), arg)
        return stack_releases.stream_id(arg), events
    return stacks.stream_id(key), events


def fold_into(world: World, events: list[Event]) -> None:
    for event in events:
        release_id = getattr(event, "release_id", None)
        if release_id is not None:
            state = world.releases.get(
                release_id, stack_releases.StackReleaseState(release_id=release_id)
            )
            world.releases[release_id] = stack_releases.evolve(state, event)
        else:
            stack_id = getattr(event, "stack_id")  # noqa: B009 (every stack event has one)
            state2 = world.stacks.get(stack_id, stacks.StackState(stack_id=stack_id))
            world.stacks[stack_id] = stacks.evolve(state2, event)


def rows(path: Path, view: type[Any], table: str) -> list[Any]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        sources = {"commit": '"commit"'} if view is StackReleaseView else {}
        found = conn.execute(f"SELECT {columns(view, **sources)} FROM {table}").fetchall()
        return [row_as(view, row) for row in found]
    finally:
        conn.close()


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}"), key=repr) for table in TABLES}
    finally:
        conn.close()


def assert_views_agree_with_the_domain(path: Path, world: World) -> None:
    alive = {i: s for i, s in world.stacks.items() if s.exists and not s.deleted}
    shown = {v.stack_id: v for v in rows(path, StackView, "stacks")}
    assert set(shown) == set(alive)
    for stack_id, state in alive.items():
        view = shown[stack_id]
        assert (view.name, view.team) == (state.name, state.team)
        assert view.inline == (state.git_url is None)
        assert view.webhook == (state.webhook_secret is not None)
        hypothesis.event(f"git auth {git_auth(state.git_token, state.deploy_key)}")
        assert view.git_auth == git_auth(state.git_token, state.deploy_key)
        assert view.variables == sorted(state.variables)
        assert [r.domains for r in view.routes] == [r.domains for r in state.routes]
    releases = {v.release_id: v for v in rows(path, StackReleaseView, "stack_releases")}
    # every release was asked for while its stack lived; a deleted stack's releases stay
    assert set(releases) == set(world.releases)
    for release_id, state in world.releases.items():
        assert releases[release_id].status == state.status
    for state in world.releases.values():
        hypothesis.event(f"a release ended {state.status}")
    for service in rows(path, StackServiceView, "stack_services"):
        run = world.releases[service.release_id].services[service.service]
        assert (service.image, service.ready, service.container) == (
            run.image,
            run.ready,
            run.container,
        )


async def check(directory: Path, history: list[tuple[str, str, Any]]) -> None:
    store = InMemoryEventStore()
    incremental = ProjectionRunner(store, directory / "incremental.db", all_projections())
    from_zero = ProjectionRunner(store, directory / "from-zero.db", all_projections())
    await incremental.open()
    await from_zero.open()
    try:
        world = World()
        for number, step in enumerate(history):
            try:
                stream, events = decide(world, step)
            except DomainError:
                continue
            if not events:
                continue
            await store.append(stream, ANY_VERSION, events, EventMeta(actor=f"user:{number}"))
            fold_into(world, events)
            await incremental.catch_up()
            # at every step: by the end most stacks of a long history are deleted
            assert_views_agree_with_the_domain(directory / "incremental.db", world)
        assert await from_zero.catch_up() == await store.head()
        assert incremental.failures == {} == from_zero.failures
        built = dump(directory / "incremental.db")
        assert built == dump(directory / "from-zero.db")
        assert_views_agree_with_the_domain(directory / "incremental.db", world)
        assert await incremental.rebuild() == await store.head()
        assert dump(directory / "incremental.db") == built
    finally:
        await incremental.close()
        await from_zero.close()


@given(st.lists(steps, min_size=40, max_size=150))
@settings(max_examples=60, deadline=None)
def test_a_stack_history_applied_as_it_arrives_equals_it_rebuilt_and_the_domain(
    history: list[tuple[str, str, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(check, Path(directory), history)
