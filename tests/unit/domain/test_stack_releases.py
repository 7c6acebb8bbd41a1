"""A stack release moves as one: every image before any start, every service ready before the
switch, and a step it cannot take now refused by name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.event_base import Event
from rivetr.domain.replica_events import Member
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackReleaseFailed,
    StackReleaseRequested,
    StackReleaseSuperseded,
    StackServiceBalanced,
    StackServiceImageReady,
    StackServiceOnServers,
    StackServiceReady,
    StackServiceStarted,
    StackSourceFetched,
    StackSwitched,
)
from rivetr.domain.stack_releases import StackReleaseState, advance, evolve, fold

R = "sr0000000001"
READ = [
    StackReleaseRequested(release_id=R, stack_id="st0000000001"),
    StackSourceFetched(release_id=R, commit_sha="abc", compose_digest="d"),
    StackComposeRead(release_id=R, waves=[["db"], ["web", "worker"]]),
]


def image(service: str) -> StackServiceImageReady:
    return StackServiceImageReady(release_id=R, service=service, image=f"sha256:{service}")


def started(service: str) -> StackServiceStarted:
    return StackServiceStarted(
        release_id=R, service=service, container=f"c-{service}", mode="beside"
    )


def on_servers(service: str) -> StackServiceOnServers:
    return StackServiceOnServers(
        release_id=R,
        service=service,
        service_name=f"s-{service}",
        image=f"registry:5000/rivetr/{service}@sha256:ab",
        mode="beside",
        replicas=3,
    )


def balanced(service: str) -> StackServiceBalanced:
    member = Member(task_id="t1", node="vps-2", address="10.0.0.2", port=30001)
    return StackServiceBalanced(release_id=R, service=service, members={80: [member]})


def ready(service: str) -> StackServiceReady:
    return StackServiceReady(release_id=R, service=service)


def through(*events: Event) -> StackReleaseState:
    """The release after each event, every one of them passed through `advance` first."""
    state = StackReleaseState(release_id=R)
    for event in events:
        if not isinstance(event, StackReleaseRequested):
            advance(state, event)
        state = evolve(state, event)
    return state


SERVICES = ("db", "web", "worker")
LIVE = [
    *READ,
    *map(image, SERVICES),
    *(step(s) for s in SERVICES for step in (started, ready)),
    StackSwitched(release_id=R),
]


def test_a_release_goes_live_when_every_service_is_ready() -> None:
    state = through(*LIVE)
    assert state.status == "live"
    assert state.service_names == ["db", "web", "worker"]
    assert state.services["web"].image == "sha256:web"
    assert all(run.ready and run.container for run in state.services.values())


def test_nothing_starts_before_every_image_is_ready() -> None:
    state = through(*READ, image("db"))
    with pytest.raises(IllegalTransition, match="no image yet for web, worker"):
        advance(state, started("db"))


def test_the_switch_waits_for_every_service() -> None:
    state = through(*READ, *map(image, SERVICES), started("db"), ready("db"), started("web"))
    with pytest.raises(IllegalTransition, match="web, worker not ready yet"):
        advance(state, StackSwitched(release_id=R))


def test_a_service_the_release_does_not_have_or_one_not_started_is_refused() -> None:
    state = through(*READ)
    with pytest.raises(IllegalTransition, match="no service 'cache'"):
        advance(state, image("cache"))
    state = through(*READ, *map(image, SERVICES), started("db"))
    with pytest.raises(IllegalTransition, match="web has not started"):
        advance(state, ready("web"))


def test_a_failed_release_takes_no_further_step_and_says_why() -> None:
    failed = StackReleaseFailed(release_id=R, step="health", reason="unhealthy", service="web")
    state = through(*READ, failed)
    assert (state.status, state.failure, state.failed_service) == ("failed", "unhealthy", "web")
    with pytest.raises(IllegalTransition, match="is failed"):
        advance(state, image("db"))
    live = through(*LIVE)
    with pytest.raises(IllegalTransition, match="is live"):
        advance(live, failed)
    assert through(*LIVE, StackReleaseSuperseded(release_id=R, by="x")).status == "superseded"


def test_a_service_on_servers_runs_as_its_swarm_service_with_its_copies() -> None:
    state = through(*READ, *map(image, SERVICES), started("db"), ready("db"), on_servers("web"))
    web = state.services["web"]
    assert (web.container, web.on_servers, web.mode) == ("s-web", True, "beside")
    state = through(
        *READ, *map(image, SERVICES), started("db"), ready("db"), on_servers("web"),
        balanced("web"), ready("web"), started("worker"), ready("worker"),
        StackSwitched(release_id=R),
    )  # fmt: skip
    assert state.status == "live"
    assert [m.address for m in state.services["web"].members[80]] == ["10.0.0.2"]


def test_copies_are_balanced_only_for_a_service_on_servers() -> None:
    state = through(*READ, *map(image, SERVICES), started("db"))
    with pytest.raises(IllegalTransition, match="db does not run on servers"):
        advance(state, balanced("db"))
    with pytest.raises(IllegalTransition, match="no image yet"):
        advance(through(*READ, image("db")), on_servers("db"))


@given(st.lists(st.sampled_from(range(len(LIVE) + 4)), max_size=30))
def test_any_accepted_history_folds_the_same_at_once_and_keeps_its_invariants(
    picks: list[int],
) -> None:
    """Random steps, each appended only when `advance` takes it (as the deployer does): the
    state built step by step is the one a rebuild folds, nothing runs without an image and
    nothing is live before every service is ready."""
    extra: list[Event] = [
        StackReleaseFailed(release_id=R, step="start", reason="x"),
        StackReleaseSuperseded(release_id=R, by="y"),
        on_servers("worker"),
        balanced("worker"),
    ]
    pool = [*LIVE, *extra]
    state = evolve(StackReleaseState(release_id=R), LIVE[0])
    log: list[Event] = [LIVE[0]]
    for event in (pool[i] for i in picks):
        try:
            advance(state, event)
        except IllegalTransition:
            continue
        state = evolve(state, event)
        log.append(event)
        if state.status in ("starting", "live"):
            assert all(run.image for run in state.services.values())
        if state.status == "live":
            assert all(run.ready for run in state.services.values())
    assert fold(R, log) == state
