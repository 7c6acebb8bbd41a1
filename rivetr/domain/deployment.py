"""The Deployment aggregate: a state machine from request to live (or failed, rolled back,
cancelled), one event per transition; illegal transitions are refused.

    requested → source_fetched → building → built → starting → health_checking → healthy
      → live → superseded → retired
    live → live when its dead container is restarted (or fails to be)
    any step before live → failed | cancelled;   live → rolling_back → rolled_back
    requested with an image (rollback, redeploy) → starting directly
    requested → requested when its variables' references are resolved
    an app on servers: its image pushed (built → built), a swarm service started instead of a
    container (→ starting), each copy seen running (task_running, in starting or while
    checking), traffic balanced over its copies (healthy → live, as a switch), and while live,
    copies taken out of the balance and put back (live → live)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from rivetr.domain.application import AppState
from rivetr.domain.commands import CancelDeployment, RequestDeployment
from rivetr.domain.errors import AlreadyExists, DomainError, InvalidCommand, NotFound
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentCancelled,
    DeploymentRequested,
    Event,
    HealthProbed,
    ImageBuilt,
    ReleaseRestarted,
    SourceFetched,
    event_tag,
)
from rivetr.domain.replica_events import CopiesChanged, Member, ServiceStarted, TrafficBalanced

Status = Literal[
    "new",
    "requested",
    "source_fetched",
    "building",
    "built",
    "starting",
    "health_checking",
    "healthy",
    "live",
    "superseded",
    "retired",
    "failed",
    "rolling_back",
    "rolled_back",
    "cancelled",
]

IN_FLIGHT: frozenset[str] = frozenset(
    {"requested", "source_fetched", "building", "built", "starting", "health_checking", "healthy"}
)
TERMINAL: frozenset[str] = frozenset({"retired", "failed", "rolled_back", "cancelled"})
# releases that served traffic: what a rollback may go back to
SERVED: frozenset[str] = frozenset({"live", "superseded", "retired"})

_STOPS = {"deployment.failed": "failed", "deployment.cancelled": "cancelled"}

# status -> {event tag -> next status}
TRANSITIONS: dict[str, dict[str, str]] = {
    "requested": {
        # the references of its variables resolved (again, after a restart): still to build
        "deployment.variables_resolved": "requested",
        "deployment.source_fetched": "source_fetched",
        "deployment.container_started": "starting",  # a retained image: nothing to fetch/build
        "deployment.image_pushed": "requested",
        "deployment.service_started": "starting",
        **_STOPS,
    },
    "source_fetched": {"deployment.build_started": "building", **_STOPS},
    "building": {"deployment.image_built": "built", **_STOPS},
    "built": {
        "deployment.container_started": "starting",
        "deployment.image_pushed": "built",
        "deployment.service_started": "starting",
        **_STOPS,
    },
    "starting": {
        "deployment.health_probed": "health_checking",
        "deployment.healthy": "healthy",
        "deployment.task_running": "starting",
        **_STOPS,
    },
    "health_checking": {
        "deployment.health_probed": "health_checking",
        "deployment.healthy": "healthy",
        "deployment.task_running": "health_checking",
        **_STOPS,
    },
    "healthy": {
        "deployment.traffic_switched": "live",
        "deployment.traffic_balanced": "live",
        **_STOPS,
    },
    "live": {
        "deployment.superseded": "superseded",
        "deployment.rollback_started": "rolling_back",
        "deployment.restarted": "live",  # its container died and was replaced
        "deployment.restart_failed": "live",
        "deployment.retired": "retired",  # its app was deleted: nothing replaces it
        "deployment.copies_changed": "live",  # a copy taken out of the balance or put back
    },
    "superseded": {"deployment.retired": "retired"},
    "rolling_back": {"deployment.rolled_back": "rolled_back"},
}


class IllegalTransition(DomainError):
    title = "Illegal deployment transition"
    status = 409


class DeploymentState(msgspec.Struct, frozen=True, kw_only=True):
    deployment_id: str
    status: Status = "new"
    app: str = ""  # the app's name when requested
    app_id: str | None = None  # None: requested before apps had ids
    branch: str = ""
    commit: str | None = None
    commit_sha: str | None = None
    image: str | None = None
    container_name: str | None = None
    host_port: int | None = None
    probes: int = 0
    rollback_of: str | None = None
    # an app on servers: the release's swarm service, and its copies once traffic reaches them
    service_name: str | None = None
    members: tuple[Member, ...] = ()

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


def stream_id(deployment_id: str) -> str:
    return f"deployment-{deployment_id}"


def evolve(state: DeploymentState, event: Event) -> DeploymentState:
    """Fold one event in. Events of other aggregates, and refused ones, change nothing."""
    if isinstance(event, DeploymentRequested):
        return DeploymentState(
            deployment_id=event.deployment_id,
            status="requested",
            app=event.app,
            app_id=event.app_id,
            branch=event.branch,
            commit=event.commit,
            image=event.image,
            rollback_of=event.rollback_of,
        )
    following = TRANSITIONS.get(state.status, {}).get(event_tag(event))
    if following is None:
        return state
    changes: dict[str, object] = {"status": following}
    match event:
        case SourceFetched():
            changes["commit_sha"] = event.commit_sha
        case ImageBuilt():
            changes["image"] = event.image
        case ContainerStarted():
            changes.update(
                container_name=event.container_name, host_port=event.host_port, image=event.image
            )
        case ReleaseRestarted():
            changes.update(container_name=event.container_name, host_port=event.host_port)
        case ServiceStarted():
            changes["service_name"] = event.service_name
        case TrafficBalanced() | CopiesChanged():
            changes["members"] = tuple(event.members)
        case HealthProbed():
            changes["probes"] = state.probes + 1
    return msgspec.structs.replace(state, **changes)


def fold(deployment_id: str, events: Iterable[Event]) -> DeploymentState:
    state = DeploymentState(deployment_id=deployment_id)
    for event in events:
        state = evolve(state, event)
    return state


def advance(state: DeploymentState, event: Event) -> list[Event]:
    """Accept one step the pipeline reports, or refuse it when the state machine does not allow
    it (most often: the deployment was cancelled or superseded while the step ran).

    Raises:
        IllegalTransition: naming the current status and the refused step.
    """
    tag = event_tag(event)
    if tag not in TRANSITIONS.get(state.status, {}):
        raise IllegalTransition(
            f"deployment {state.deployment_id} is {state.status}; {tag} is not allowed now"
        )
    return [event]


def decide_request(
    app: AppState, state: DeploymentState, command: RequestDeployment
) -> list[Event]:
    """Raises NotFound for an unknown app, AlreadyExists for a reused id, InvalidCommand for an
    app that has nothing to build from."""
    if not app.exists:
        raise NotFound(f"no application named {command.app!r}")
    if state.status != "new":
        raise AlreadyExists(f"deployment {command.deployment_id} already exists")
    if command.image is None and not app.git_url:
        raise InvalidCommand(f"application {app.name!r} has no git_url to deploy from")
    return [
        DeploymentRequested(
            deployment_id=command.deployment_id,
            app=app.name,
            app_id=app.app_id,
            branch=app.branch,
            commit=command.commit,
            trigger=command.trigger,
            image=command.image,
            rollback_of=command.rollback_of,
        )
    ]


def decide_cancel(state: DeploymentState, command: CancelDeployment) -> list[Event]:
    """Cancel an in-flight deployment; a finished or live one cannot be cancelled."""
    if state.status == "new":
        raise NotFound(f"no deployment {command.deployment_id!r}")
    if state.status in ("live", "superseded", "rolling_back"):
        raise InvalidCommand(
            f"deployment {state.deployment_id} is {state.status}; roll back to replace it"
        )
    if state.finished:
        raise InvalidCommand(f"deployment {state.deployment_id} already ended: {state.status}")
    return [DeploymentCancelled(deployment_id=state.deployment_id, reason=command.reason)]
