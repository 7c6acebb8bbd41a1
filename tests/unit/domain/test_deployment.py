"""The deployment state machine: the happy path, failures, cancels, supersedes and rollbacks,
and a property: folding any sequence the machine accepted gives the same state however it is
replayed, and nothing is accepted after a terminal state."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import deployment
from rivetr.domain.application import AppState
from rivetr.domain.commands import CancelDeployment, RequestDeployment
from rivetr.domain.deployment import TERMINAL, TRANSITIONS, IllegalTransition
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import (
    BuildStarted,
    ContainerStarted,
    DeploymentCancelled,
    DeploymentFailed,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentRetired,
    DeploymentSuperseded,
    Event,
    HealthProbed,
    ImageBuilt,
    ReleaseRestarted,
    ReleaseRestartFailed,
    RollbackStarted,
    RolledBack,
    SourceFetched,
    TrafficSwitched,
)

D = "d1"
APP = AppState(app_id="a1", name="web", exists=True, git_url="https://example.com/web.git")


def steps() -> dict[str, Event]:
    return {
        "deployment.source_fetched": SourceFetched(
            deployment_id=D, commit_sha="a" * 40, commit_message="m", duration_ms=1
        ),
        "deployment.build_started": BuildStarted(deployment_id=D, builder="dockerfile"),
        "deployment.image_built": ImageBuilt(deployment_id=D, image="rivetr/web:d1", duration_ms=1),
        "deployment.container_started": ContainerStarted(
            deployment_id=D,
            container_id="c",
            container_name="rivetr-web-d1",
            image="rivetr/web:d1",
            host_port=32000,
            duration_ms=1,
        ),
        "deployment.health_probed": HealthProbed(
            deployment_id=D, attempt=1, ok=False, error="refused", duration_ms=1
        ),
        "deployment.healthy": DeploymentHealthy(deployment_id=D, probes=1, duration_ms=1),
        "deployment.traffic_switched": TrafficSwitched(deployment_id=D, app="web", host_port=32000),
        "deployment.superseded": DeploymentSuperseded(
            deployment_id=D, by_deployment_id="d2", drain_s=30
        ),
        "deployment.retired": DeploymentRetired(deployment_id=D, container_removed=True),
        "deployment.failed": DeploymentFailed(deployment_id=D, step="build", reason="exit 1"),
        "deployment.cancelled": DeploymentCancelled(deployment_id=D, reason="by request"),
        "deployment.rollback_started": RollbackStarted(
            deployment_id=D, to_deployment_id="d0", reason="post-switch check failed"
        ),
        "deployment.rolled_back": RolledBack(
            deployment_id=D, app="web", to_deployment_id="d0", host_port=31000
        ),
        "deployment.restarted": ReleaseRestarted(
            deployment_id=D,
            app="web",
            reason="its container was gone",
            container_id="c2",
            container_name="rivetr-web-d1",
            host_port=33000,
            healthy=True,
        ),
        "deployment.restart_failed": ReleaseRestartFailed(
            deployment_id=D, app="web", reason="image not found"
        ),
    }


STEPS = steps()


def requested(image: str | None = None) -> deployment.DeploymentState:
    [event] = deployment.decide_request(
        APP,
        deployment.DeploymentState(deployment_id=D),
        RequestDeployment(deployment_id=D, app="web", image=image),
    )
    assert isinstance(event, DeploymentRequested)
    return deployment.evolve(deployment.DeploymentState(deployment_id=D), event)


def run(state: deployment.DeploymentState, *tags: str) -> deployment.DeploymentState:
    for tag in tags:
        for event in deployment.advance(state, STEPS[tag]):
            state = deployment.evolve(state, event)
    return state


HAPPY = (
    "deployment.source_fetched",
    "deployment.build_started",
    "deployment.image_built",
    "deployment.container_started",
    "deployment.health_probed",
    "deployment.health_probed",
    "deployment.healthy",
    "deployment.traffic_switched",
)


def test_happy_path_goes_live_then_is_superseded_and_retired() -> None:
    state = run(requested(), *HAPPY)
    assert state.status == "live"
    assert state.image == "rivetr/web:d1"
    assert state.host_port == 32000
    assert state.probes == 2
    state = run(state, "deployment.superseded", "deployment.retired")
    assert state.status == "retired"
    assert state.finished


def test_a_live_release_restarted_stays_live_on_its_new_host_port() -> None:
    state = run(requested(), *HAPPY, "deployment.restarted")
    assert (state.status, state.host_port) == ("live", 33000)
    state = run(state, "deployment.restart_failed")
    assert (state.status, state.host_port) == ("live", 33000)


def test_only_a_live_release_can_be_restarted() -> None:
    draining = run(requested(), *HAPPY, "deployment.superseded")
    with pytest.raises(IllegalTransition):
        deployment.advance(draining, STEPS["deployment.restarted"])
    with pytest.raises(IllegalTransition):
        deployment.advance(requested(), STEPS["deployment.restarted"])


def test_a_retained_image_skips_source_and_build() -> None:
    state = requested(image="rivetr/web:d0")
    state = run(state, "deployment.container_started", "deployment.healthy")
    assert state.status == "healthy"


def test_traffic_cannot_switch_before_the_release_is_healthy() -> None:
    state = run(requested(), *HAPPY[:5])
    with pytest.raises(IllegalTransition, match="health_checking"):
        deployment.advance(state, STEPS["deployment.traffic_switched"])


@pytest.mark.parametrize("stop", range(len(HAPPY) - 1))
def test_any_step_before_live_can_fail_or_be_cancelled(stop: int) -> None:
    state = run(requested(), *HAPPY[:stop])
    assert run(state, "deployment.failed").status == "failed"
    assert run(state, "deployment.cancelled").status == "cancelled"


def test_a_live_release_that_fails_rolls_back_and_cannot_be_cancelled() -> None:
    state = run(requested(), *HAPPY)
    with pytest.raises(InvalidCommand, match="roll back"):
        deployment.decide_cancel(state, CancelDeployment(deployment_id=D))
    state = run(state, "deployment.rollback_started", "deployment.rolled_back")
    assert state.status == "rolled_back"


def test_cancel_decisions() -> None:
    with pytest.raises(NotFound):
        deployment.decide_cancel(
            deployment.DeploymentState(deployment_id=D), CancelDeployment(deployment_id=D)
        )
    [event] = deployment.decide_cancel(requested(), CancelDeployment(deployment_id=D))
    assert isinstance(event, DeploymentCancelled)
    failed = run(requested(), "deployment.failed")
    with pytest.raises(InvalidCommand, match="already ended"):
        deployment.decide_cancel(failed, CancelDeployment(deployment_id=D))


def test_request_needs_an_existing_app_with_a_source() -> None:
    new = deployment.DeploymentState(deployment_id=D)
    command = RequestDeployment(deployment_id=D, app="web")
    with pytest.raises(NotFound):
        deployment.decide_request(AppState(app_id="a1", name="web"), new, command)
    with pytest.raises(InvalidCommand, match="git_url"):
        deployment.decide_request(AppState(app_id="a1", name="web", exists=True), new, command)
    [event] = deployment.decide_request(APP, new, command)
    assert isinstance(event, DeploymentRequested)
    assert event.branch == "main"


@given(st.lists(st.sampled_from(sorted(STEPS)), max_size=30), st.booleans())
def test_accepted_histories_fold_the_same_and_end_for_good(tags: list[str], image: bool) -> None:
    state = requested(image="rivetr/web:d0" if image else None)
    accepted: list[Event] = [
        DeploymentRequested(
            deployment_id=D,
            app="web",
            app_id="a1",
            branch="main",
            image="rivetr/web:d0" if image else None,
        )
    ]
    for tag in tags:
        allowed = tag in TRANSITIONS.get(state.status, {})
        if not allowed:
            with pytest.raises(IllegalTransition):
                deployment.advance(state, STEPS[tag])
            continue
        assert state.status not in TERMINAL
        for event in deployment.advance(state, STEPS[tag]):
            accepted.append(event)
            state = deployment.evolve(state, event)
    assert deployment.fold(D, accepted) == state
    if state.status in TERMINAL:
        assert all(tag not in TRANSITIONS.get(state.status, {}) for tag in STEPS), (
            "a terminal state accepts nothing"
        )
