"""A release of a compose stack: the whole stack deployed as one, from request to live (or
failed, with the previous release still serving), one event per step of each service.

    requested → source_fetched → read → (every service's image ready) → starting
      → (every service started and ready) → live → superseded | retired
    any step before live → failed

Every image is ready before any container starts, so a broken build never touches what runs;
every service is ready before the switch, so the routes move together or not at all."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.event_base import Event
from rivetr.domain.events import event_tag
from rivetr.domain.replica_events import Member
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackReleaseFailed,
    StackReleaseRequested,
    StackServiceBalanced,
    StackServiceImageReady,
    StackServiceOnServers,
    StackServiceReady,
    StackServiceStarted,
    StackSourceFetched,
    StackSwitched,
    StartMode,
)

Status = Literal[
    "new", "requested", "source_fetched", "read", "starting", "live", "superseded", "retired",
    "failed",
]  # fmt: skip

IN_FLIGHT: frozenset[str] = frozenset({"requested", "source_fetched", "read", "starting"})
# releases that served: what a rollback may go back to
SERVED: frozenset[str] = frozenset({"live", "superseded", "retired"})

_FAILED = {"stack_release.failed": "failed"}
TRANSITIONS: dict[str, dict[str, str]] = {
    "requested": {"stack_release.source_fetched": "source_fetched", **_FAILED},
    "source_fetched": {"stack_release.compose_read": "read", **_FAILED},
    "read": {
        "stack_release.service_image_ready": "read",
        "stack_release.service_started": "starting",
        "stack_release.service_on_servers": "starting",
        **_FAILED,
    },
    "starting": {
        "stack_release.service_started": "starting",
        "stack_release.service_on_servers": "starting",
        "stack_release.service_balanced": "starting",
        "stack_release.service_ready": "starting",
        "stack_release.switched": "live",
        **_FAILED,
    },
    "live": {
        "stack_release.service_balanced": "live",
        "stack_release.superseded": "superseded",
        "stack_release.retired": "retired",
    },
    "superseded": {"stack_release.retired": "retired"},
}


class ServiceRun(msgspec.Struct, frozen=True, kw_only=True):
    """One service of a release, as far as it got. On servers, `container` is its swarm
    service's name and `members` its copies the proxy reaches, per routed port."""

    image: str | None = None
    built: bool = False
    container: str | None = None
    mode: StartMode | None = None
    host_ports: dict[int, int] = msgspec.field(default_factory=dict)
    ready: bool = False
    on_servers: bool = False
    members: dict[int, tuple[Member, ...]] = msgspec.field(default_factory=dict)


class StackReleaseState(msgspec.Struct, frozen=True, kw_only=True):
    release_id: str
    status: Status = "new"
    stack_id: str = ""
    commit: str | None = None
    trigger: str = ""
    rollback_of: str | None = None
    wanted_images: dict[str, str] = msgspec.field(default_factory=dict)  # a rollback's
    commit_sha: str | None = None
    compose_digest: str | None = None
    waves: tuple[tuple[str, ...], ...] = ()
    warnings: tuple[str, ...] = ()
    services: dict[str, ServiceRun] = msgspec.field(default_factory=dict)
    failure: str | None = None
    failed_service: str | None = None

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    @property
    def service_names(self) -> list[str]:
        return [name for wave in self.waves for name in wave]


def stream_id(release_id: str) -> str:
    return f"stack-release-{release_id}"


def _service(state: StackReleaseState, name: str, **changes: object) -> dict[str, ServiceRun]:
    run = msgspec.structs.replace(state.services.get(name, ServiceRun()), **changes)
    return {**state.services, name: run}


def evolve(state: StackReleaseState, event: Event) -> StackReleaseState:
    """Fold one event in; events of other aggregates, and steps the machine does not allow
    now, change nothing."""
    if isinstance(event, StackReleaseRequested):
        return StackReleaseState(
            release_id=event.release_id,
            status="requested",
            stack_id=event.stack_id,
            commit=event.commit,
            trigger=event.trigger,
            rollback_of=event.rollback_of,
            wanted_images=dict(event.images),
        )
    following = TRANSITIONS.get(state.status, {}).get(event_tag(event))
    if following is None:
        return state
    changes: dict[str, object] = {"status": following}
    match event:
        case StackSourceFetched():
            changes.update(commit_sha=event.commit_sha, compose_digest=event.compose_digest)
        case StackComposeRead():
            changes.update(
                waves=tuple(tuple(wave) for wave in event.waves),
                warnings=tuple(event.warnings),
                services={name: ServiceRun() for wave in event.waves for name in wave},
            )
        case StackServiceImageReady():
            changes["services"] = _service(
                state, event.service, image=event.image, built=event.built
            )
        case StackServiceStarted():
            changes["services"] = _service(
                state,
                event.service,
                container=event.container,
                mode=event.mode,
                host_ports=dict(event.host_ports),
            )
        case StackServiceOnServers():
            changes["services"] = _service(
                state, event.service, container=event.service_name, mode=event.mode, on_servers=True
            )
        case StackServiceBalanced():
            members = {port: tuple(found) for port, found in event.members.items()}
            changes["services"] = _service(state, event.service, members=members)
        case StackServiceReady():
            changes["services"] = _service(state, event.service, ready=True)
        case StackReleaseFailed():
            changes.update(failure=event.reason, failed_service=event.service)
    return msgspec.structs.replace(state, **changes)


def fold(release_id: str, events: Iterable[Event]) -> StackReleaseState:
    state = StackReleaseState(release_id=release_id)
    for event in events:
        state = evolve(state, event)
    return state


def advance(state: StackReleaseState, event: Event) -> list[Event]:
    """Accept one step the stack's deployer reports, or refuse one the release cannot take
    now (it failed meanwhile; a service it does not have; a start before every image is
    ready; a switch before every service is ready).

    Raises:
        IllegalTransition: naming the release's status and the refused step.
    """
    tag = event_tag(event)
    if tag not in TRANSITIONS.get(state.status, {}):
        raise IllegalTransition(
            f"stack release {state.release_id} is {state.status}; {tag} is not allowed now"
        )
    per_service = (
        StackServiceImageReady
        | StackServiceStarted
        | StackServiceOnServers
        | StackServiceBalanced
        | StackServiceReady
    )
    if isinstance(event, per_service) and event.service not in state.services:
        raise IllegalTransition(
            f"stack release {state.release_id} has no service {event.service!r}"
        )
    match event:
        case StackServiceStarted() | StackServiceOnServers() if state.status == "read":
            unready = sorted(n for n, run in state.services.items() if run.image is None)
            if unready:
                raise IllegalTransition(
                    f"stack release {state.release_id}: no image yet for {', '.join(unready)}"
                )
        case StackServiceBalanced() if not state.services[event.service].on_servers:
            raise IllegalTransition(
                f"stack release {state.release_id}: {event.service} does not run on servers"
            )
        case StackServiceReady() if state.services[event.service].container is None:
            raise IllegalTransition(
                f"stack release {state.release_id}: {event.service} has not started"
            )
        case StackSwitched():
            waiting = sorted(n for n, run in state.services.items() if not run.ready)
            if waiting:
                raise IllegalTransition(
                    f"stack release {state.release_id}: {', '.join(waiting)} not ready yet"
                )
    return [event]
