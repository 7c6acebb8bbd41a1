"""A compose service in the Specification's long form, every attribute it defines; what Rivetr
runs of it is weighed in `support.py`, what it may ask of the host in `policy.py`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from rivetr.domain.compose import long_form
from rivetr.domain.compose.deploy import Deploy, Gpus
from rivetr.domain.compose.field_types import (
    Bytes,
    Command,
    Hosts,
    Labels,
    Options,
    Seconds,
    Strings,
    Variables,
)
from rivetr.domain.compose.mounts import Configs, Devices, Secrets, Volumes
from rivetr.domain.compose.service_options import (
    BlkioConfig,
    Build,
    CredentialSpec,
    Development,
    EnvFiles,
    Extends,
    Hook,
    ModelUses,
    PreStartHook,
    Provider,
    Ulimits,
)
from rivetr.domain.compose.typed import Parsed, Spec

Condition = Literal["service_started", "service_healthy", "service_completed_successfully"]


class Dependency(Spec, frozen=True):
    """A service this one waits for; `required: false` lets it start without that one."""

    condition: Condition
    restart: bool = False
    required: bool = True


class Healthcheck(Spec, frozen=True):
    test: Annotated[list[str], Parsed(long_form.health_test)] | None = None
    interval: Seconds | None = None
    timeout: Seconds | None = None
    retries: int | None = None
    start_period: Seconds | None = None
    start_interval: Seconds | None = None
    disable: bool = False


class Port(Spec, frozen=True):
    """A container port, and where the host publishes it (`published` may be a range the
    engine picks from; none: not published)."""

    target: int
    published: Annotated[str, Parsed(long_form.published)] | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str | None = None
    app_protocol: str | None = None


class Attachment(Spec, frozen=True):
    """A service's place on one of the stack's networks."""

    aliases: list[str] = []
    interface_name: str | None = None
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: list[str] = []
    mac_address: str | None = None
    driver_opts: Options = {}
    priority: int | None = None
    gw_priority: int | None = None


class Logging(Spec, frozen=True):
    driver: str | None = None
    options: dict[str, str | None] = {}


class Service(Spec, frozen=True):
    """One service of a stack; its keys starting `x-` are kept in `extensions` (`x-rivetr`)."""

    image: str | None = None
    build: Annotated[Build, Parsed(long_form.build)] | None = None
    command: Command | None = None
    entrypoint: Command | None = None
    environment: Variables = {}
    env_file: EnvFiles = []
    label_file: Strings = []
    depends_on: Annotated[dict[str, Dependency], Parsed(long_form.depends_on)] = {}
    healthcheck: Healthcheck | None = None
    ports: Annotated[list[Port], Parsed(long_form.ports)] = []
    expose: list[str] = []
    volumes: Volumes = []
    volumes_from: list[str] = []
    tmpfs: Strings = []
    networks: Annotated[
        dict[str, Annotated[Attachment, Parsed(long_form.nothing_as_empty)]],
        Parsed(long_form.names),
    ] = {}
    network_mode: str | None = None
    links: list[str] = []
    external_links: list[str] = []
    hostname: str | None = None
    domainname: str | None = None
    mac_address: str | None = None
    dns: Strings = []
    dns_opt: list[str] = []
    dns_search: Strings = []
    extra_hosts: Hosts = {}
    restart: Annotated[str, Parsed(long_form.restart)] | None = None
    deploy: Deploy | None = None
    scale: int | None = None
    labels: Labels = {}
    annotations: Labels = {}
    container_name: str | None = None
    secrets: Secrets = []
    configs: Configs = []
    user: str | None = None
    group_add: list[str] = []
    working_dir: str | None = None
    init: bool | None = None
    read_only: bool = False
    stdin_open: bool = False
    tty: bool = False
    stop_signal: str | None = None
    stop_grace_period: Seconds | None = None
    ulimits: Ulimits = {}
    sysctls: Labels = {}
    shm_size: Bytes | None = None
    logging: Logging | None = None
    platform: str | None = None
    profiles: list[str] = []
    pull_policy: str | None = None
    pull_refresh_after: str | None = None
    attach: bool | None = None
    extends: Annotated[Extends, Parsed(long_form.extends)] | None = None
    develop: Development | None = None
    provider: Provider | None = None
    models: ModelUses = {}
    post_start: list[Hook] = []
    pre_start: list[PreStartHook] = []
    pre_stop: list[Hook] = []
    # the host's resources
    cpus: float | None = None
    cpu_count: int | None = None
    cpu_percent: int | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpu_rt_period: int | None = None
    cpu_rt_runtime: int | None = None
    cpuset: str | None = None
    mem_limit: Bytes | None = None
    mem_reservation: Bytes | None = None
    mem_swappiness: int | None = None
    memswap_limit: Bytes | None = None
    oom_kill_disable: bool = False
    oom_score_adj: int | None = None
    pids_limit: int | None = None
    blkio_config: BlkioConfig | None = None
    storage_opt: Options = {}
    gpus: Gpus = []
    # what reaches past the container, weighed by the security policy
    privileged: bool = False
    cap_add: list[str] = []
    cap_drop: list[str] = []
    devices: Devices = []
    device_cgroup_rules: list[str] = []
    security_opt: list[str] = []
    pid: str | None = None
    ipc: str | None = None
    uts: str | None = None
    cgroup: Literal["host", "private"] | None = None
    cgroup_parent: str | None = None
    userns_mode: str | None = None
    use_api_socket: bool = False
    runtime: str | None = None
    isolation: str | None = None
    credential_spec: CredentialSpec | None = None
    extensions: dict[str, Any] = {}
