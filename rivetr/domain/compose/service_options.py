"""The rarer parts of a service, in the long form: how its image is built, block-IO weights,
credential specs, lifecycle hooks, `develop.watch`, a provider, the models it uses, and the
`extends` and `env_file` the reader resolves before the model is made."""

from __future__ import annotations

from typing import Annotated, Literal

from rivetr.domain.compose import long_form
from rivetr.domain.compose.field_types import Bytes, Command, Hosts, Labels, Strings, Variables
from rivetr.domain.compose.mounts import Secrets
from rivetr.domain.compose.typed import Parsed, Spec


class Ulimit(Spec, frozen=True):
    soft: int
    hard: int


Ulimits = dict[str, Annotated[Ulimit, Parsed(long_form.ulimit)]]


class Build(Spec, frozen=True):
    """How a service's image is built; `context` is relative to the stack's root."""

    context: str = "."
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    entitlements: list[str] = []
    args: Variables = {}
    ssh: Variables = {}
    labels: Labels = {}
    cache_from: list[str] = []
    cache_to: list[str] = []
    no_cache: bool = False
    no_cache_filter: Strings = []
    additional_contexts: Labels = {}
    network: str | None = None
    provenance: str | bool | None = None
    sbom: str | bool | None = None
    pull: bool = False
    target: str | None = None
    shm_size: Bytes | None = None
    extra_hosts: Hosts = {}
    isolation: str | None = None
    privileged: bool = False
    secrets: Secrets = []
    tags: list[str] = []
    ulimits: Ulimits = {}
    platforms: list[str] = []


class BlkioLimit(Spec, frozen=True):
    path: str
    rate: Bytes


class BlkioWeight(Spec, frozen=True):
    path: str
    weight: int


class BlkioConfig(Spec, frozen=True):
    device_read_bps: list[BlkioLimit] = []
    device_read_iops: list[BlkioLimit] = []
    device_write_bps: list[BlkioLimit] = []
    device_write_iops: list[BlkioLimit] = []
    weight: int | None = None
    weight_device: list[BlkioWeight] = []


class CredentialSpec(Spec, frozen=True):
    config: str | None = None
    file: str | None = None
    registry: str | None = None


class Hook(Spec, frozen=True):
    """A command run in the service's container at a point of its life (`post_start`)."""

    command: Command
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: Variables = {}


class PreStartHook(Spec, frozen=True):
    command: Command | None = None
    image: str | None = None
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: Variables = {}
    per_replica: bool = False


class Watch(Spec, frozen=True):
    path: str
    action: Literal["rebuild", "sync", "restart", "sync+restart", "sync+exec"]
    target: str | None = None
    ignore: Strings = []
    include: Strings = []
    exec: Hook | None = None
    initial_sync: bool = False


class Development(Spec, frozen=True):
    watch: list[Watch] = []


class Provider(Spec, frozen=True):
    type: str
    options: dict[str, str | list[str]] = {}


class ModelUse(Spec, frozen=True):
    endpoint_var: str | None = None
    model_var: str | None = None


class Extends(Spec, frozen=True):
    service: str
    file: str | None = None


class EnvFile(Spec, frozen=True):
    path: str
    required: bool = True
    format: str | None = None


ModelUses = Annotated[
    dict[str, Annotated[ModelUse, Parsed(long_form.nothing_as_empty)]], Parsed(long_form.names)
]
EnvFiles = Annotated[list[EnvFile], Parsed(long_form.env_files)]
