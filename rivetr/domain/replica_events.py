"""The steps of a deployment whose app runs on servers (`scale_events.Scale.on_swarm`), on the
deployment's stream beside the steps every deployment has: its image pushed where every
server can pull it, one swarm service started for the release beside the old one's, each
copy (task) seen running on its server, and traffic balanced over the healthy copies."""

from __future__ import annotations

from typing import Annotated

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.scale_events import Balance, Replicas
from rivetr.domain.settings import Port

# the engine numbers a service's copies from 1; a slot past what SQLite holds is not one
Slot = Annotated[int, msgspec.Meta(ge=0, le=2**31)]


class ImagePushed(Event, frozen=True, kw_only=True, tag="deployment.image_pushed"):
    """The release's image is in the registry as `image` (by digest): what every server pulls."""

    deployment_id: str
    image: str
    duration_ms: float


class ServiceStarted(Event, frozen=True, kw_only=True, tag="deployment.service_started"):
    """The release runs as the swarm service `service_name`, `replicas` copies of `image`."""

    deployment_id: str
    service_id: str
    service_name: str
    image: str
    replicas: Replicas
    duration_ms: float


class Member(msgspec.Struct, frozen=True, kw_only=True):
    """One copy of a release: the task, the server it runs on, and where it answers."""

    task_id: str
    node: str  # the server's host name (its id when the engine did not say)
    address: str
    port: Port


class TaskRunning(Event, frozen=True, kw_only=True, tag="deployment.task_running"):
    """A copy of the release runs on `member.node`, answering at its address and port (its
    health is probed next)."""

    deployment_id: str
    slot: Slot
    member: Member


class TrafficBalanced(Event, frozen=True, kw_only=True, tag="deployment.traffic_balanced"):
    """The app's traffic now goes to these copies of this deployment, shared by `balance`:
    it is the live release."""

    deployment_id: str
    app: str
    members: list[Member]
    balance: Balance = "round_robin"
    previous_deployment_id: str | None = None


class LeftCopy(msgspec.Struct, frozen=True, kw_only=True):
    member: Member
    reason: str  # "failed its check: connection refused", "shutdown on vps-2: node is down"


class CopiesChanged(Event, frozen=True, kw_only=True, tag="deployment.copies_changed"):
    """The live release's traffic goes to `members` now: copies that failed their checks or
    stopped running were taken out (`left`), copies the engine started since (a rescheduled
    task) or that recovered were put in (`joined`)."""

    deployment_id: str
    app: str
    members: list[Member]
    joined: list[Member] = msgspec.field(default_factory=list)
    left: list[LeftCopy] = msgspec.field(default_factory=list)
