"""A compose project in the Specification's normalised long form: its services, networks,
volumes, secrets, configs and models, every short syntax already read into its long one
(`normalise.read_model` makes it from the loaded data)."""

from __future__ import annotations

from typing import Annotated, Any

from rivetr.domain.compose import long_form
from rivetr.domain.compose.field_types import Labels, Options, Strings
from rivetr.domain.compose.service import Service
from rivetr.domain.compose.typed import Parsed, Spec


class IpamPool(Spec, frozen=True):
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: dict[str, str] = {}


class Ipam(Spec, frozen=True):
    driver: str | None = None
    config: list[IpamPool] = []
    options: dict[str, str] = {}


class Network(Spec, frozen=True):
    """A network of the stack (`external`: one that exists already, by `name`)."""

    name: str | None = None
    driver: str | None = None
    driver_opts: Options = {}
    ipam: Ipam | None = None
    external: bool = False
    internal: bool = False
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    attachable: bool = False
    labels: Labels = {}
    extensions: dict[str, Any] = {}


class Volume(Spec, frozen=True):
    """A named volume of the stack, kept across deploys."""

    name: str | None = None
    driver: str | None = None
    driver_opts: Options = {}
    external: bool = False
    labels: Labels = {}
    extensions: dict[str, Any] = {}


class Secret(Spec, frozen=True):
    """A secret's content: a `file` of the stack, a variable (`environment`), or external."""

    name: str | None = None
    file: str | None = None
    environment: str | None = None
    external: bool = False
    labels: Labels = {}
    driver: str | None = None
    driver_opts: Options = {}
    template_driver: str | None = None
    extensions: dict[str, Any] = {}


class Config(Spec, frozen=True):
    """A config's content: a `file` of the stack, inline `content`, a variable, or external."""

    name: str | None = None
    file: str | None = None
    content: str | None = None
    environment: str | None = None
    external: bool = False
    labels: Labels = {}
    template_driver: str | None = None
    extensions: dict[str, Any] = {}


class Model(Spec, frozen=True):
    """An AI model the stack runs (`models:`)."""

    model: str
    name: str | None = None
    context_size: int | None = None
    runtime_flags: list[str] = []
    extensions: dict[str, Any] = {}


class Include(Spec, frozen=True):
    path: Strings
    env_file: Strings = []
    project_directory: str | None = None


class ComposeProject(Spec, frozen=True):
    """A whole compose file, as the model holds it; `x-*` keys are kept in `extensions`."""

    services: dict[str, Service] = {}
    networks: dict[str, Annotated[Network, Parsed(long_form.top_level)]] = {}
    volumes: dict[str, Annotated[Volume, Parsed(long_form.top_level)]] = {}
    secrets: dict[str, Annotated[Secret, Parsed(long_form.top_level)]] = {}
    configs: dict[str, Annotated[Config, Parsed(long_form.top_level)]] = {}
    models: dict[str, Model] = {}
    name: str | None = None
    version: str | None = None  # obsolete; read and ignored, as Compose does
    include: list[Annotated[Include, Parsed(long_form.include)]] = []
    extensions: dict[str, Any] = {}
