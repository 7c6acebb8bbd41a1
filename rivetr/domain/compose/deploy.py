"""A service's `deploy:` in the long form: replicas, resources, restart policy, and the Swarm
settings (placement, update and rollback) the Specification has and Rivetr weighs later."""

from __future__ import annotations

from typing import Annotated, Literal

from rivetr.domain.compose import long_form
from rivetr.domain.compose.field_types import Bytes, Labels, Seconds
from rivetr.domain.compose.typed import Parsed, Spec


class DeviceRequest(Spec, frozen=True):
    """A device a service reserves (`deploy.resources.reservations.devices`, `gpus`)."""

    capabilities: list[str] = []
    count: Annotated[int, Parsed(long_form.count)] | None = None  # -1: all
    device_ids: list[str] = []
    driver: str | None = None
    options: Labels = {}


class DiscreteResource(Spec, frozen=True):
    kind: str
    value: int


class GenericResource(Spec, frozen=True):
    discrete_resource_spec: DiscreteResource | None = None


class Limits(Spec, frozen=True):
    cpus: float | None = None
    memory: Bytes | None = None
    pids: int | None = None


class Reservations(Spec, frozen=True):
    cpus: float | None = None
    memory: Bytes | None = None
    generic_resources: list[GenericResource] = []
    devices: list[DeviceRequest] = []


class Resources(Spec, frozen=True):
    limits: Limits | None = None
    reservations: Reservations | None = None


class RestartPolicy(Spec, frozen=True):
    condition: str | None = None  # none, on-failure, any
    delay: Seconds | None = None
    max_attempts: int | None = None
    window: Seconds | None = None


class UpdateConfig(Spec, frozen=True):
    parallelism: int | None = None
    delay: Seconds | None = None
    failure_action: str | None = None
    monitor: Seconds | None = None
    max_failure_ratio: float | None = None
    order: Literal["start-first", "stop-first"] | None = None


class Preference(Spec, frozen=True):
    spread: str | None = None


class Placement(Spec, frozen=True):
    constraints: list[str] = []
    preferences: list[Preference] = []
    max_replicas_per_node: int | None = None


class Deploy(Spec, frozen=True):
    mode: str | None = None
    endpoint_mode: str | None = None
    replicas: int | None = None
    labels: Labels = {}
    rollback_config: UpdateConfig | None = None
    update_config: UpdateConfig | None = None
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    placement: Placement | None = None


Gpus = Annotated[list[DeviceRequest], Parsed(long_form.gpus)]
