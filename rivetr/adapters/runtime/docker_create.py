"""How a `ContainerSpec` becomes a started container on Docker or on Podman's Docker-compatible
API: the engine's create request (made here, without I/O), the networks joined before the
start, and a fresh try when an engine-chosen host port was taken meanwhile.

Where Podman 4.3 would run the same request differently, the request differs so that the
process sees the same thing on both engines (each difference is named where it is evened out).
"""

from __future__ import annotations

import math
import shlex
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
from docker.types import (  # type: ignore[import-untyped]
    ContainerConfig,
    EndpointConfig,
    HostConfig,
    NetworkingConfig,
    Ulimit,
)
from docker.types import Mount as EngineMount
from docker.utils import version_gte  # type: ignore[import-untyped]

from rivetr.adapters.runtime.base import ContainerError, ContainerInfo
from rivetr.adapters.runtime.container_spec import (
    DEFAULT_STOP_GRACE_S,
    ContainerSpec,
    EngineHealthcheck,
    Mount,
)
from rivetr.adapters.runtime.docker_answers import container_info
from rivetr.adapters.runtime.docker_engine import explain

Kind = Literal["docker", "podman"]

# Engines hand out ephemeral host ports from the same range as the kernel gives other
# programs' sockets, and do not check that the one they pick is free: a start can lose that
# race. A fresh container is given the next port; a fixed port asked for is not retried.
EPHEMERAL_PORT_ATTEMPTS = 5

# Podman mounts a writable tmpfs on these when the root is read-only (its compat API cannot
# be told otherwise); Docker leaves them read-only, as the spec asks
_PODMAN_READ_ONLY_TMPFS = ("/tmp", "/run", "/var/tmp")


@dataclass(frozen=True)
class EngineDefaults:
    """What the engine itself would put in where the spec says nothing, when the request must
    say it instead (Podman only; empty for Docker)."""

    ulimits: dict[str, tuple[int, int]] = field(default_factory=dict)
    name_servers: list[str] = field(default_factory=list)  # of the container's networks


@dataclass(frozen=True)
class CreateRequest:
    config: dict[str, Any]  # the body of `POST /containers/create`
    networks: dict[str, list[str]]  # joined (with these aliases) between create and start


def create_request(
    spec: ContainerSpec, kind: Kind, api_version: str, defaults: EngineDefaults | None = None
) -> CreateRequest:
    """The engine's create request for `spec` (API `api_version`), a spec without
    `spec_problems`."""
    defaults = defaults or EngineDefaults()
    host_config = HostConfig(
        api_version,
        binds={name: {"bind": path, "mode": "rw"} for name, path in spec.volumes.items()},
        port_bindings=_port_bindings(spec, kind),
        mounts=[_mount(mount) for mount in spec.mounts] or None,
        tmpfs=_tmpfs(spec, kind) or None,
        network_mode=spec.network,
        mem_limit=spec.memory_bytes,
        nano_cpus=spec.nano_cpus,
        pids_limit=spec.pids_limit,
        shm_size=spec.shm_size_bytes,
        ulimits=_ulimits(spec, kind, defaults) or None,
        sysctls=dict(spec.sysctls) or None,
        read_only=spec.read_only or None,
        cap_drop=list(spec.cap_drop) or None,
        group_add=list(spec.group_add) or None,
        extra_hosts=dict(spec.extra_hosts) or None,
        dns=_name_servers(spec, kind, defaults) or None,
        dns_search=list(spec.dns_search) or None,
        restart_policy={"Name": spec.restart_policy},
        # An init as PID 1 forwards signals: stops take milliseconds, not the timeout.
        init=True,
    )
    endpoint = EndpointConfig(api_version, aliases=list(spec.aliases) or None)
    config = ContainerConfig(
        api_version,
        spec.image,
        spec.command,
        # Podman takes an empty list as "the image's"; [""] means none on both engines
        entrypoint=None if spec.entrypoint is None else (spec.entrypoint or [""]),
        user=spec.user,
        working_dir=spec.working_dir,
        hostname=spec.hostname,
        labels=dict(spec.labels),
        environment=dict(spec.env),
        ports=[(port, "tcp") for port in spec.ports]
        + [(each.target, each.protocol) for each in spec.published],
        volumes=list(spec.volumes.values()) or None,
        healthcheck=None,
        stop_signal=spec.stop_signal,
        # kept on the container, so a stop given no timeout waits this long; always given:
        # Podman's compat API stores 0 (an immediate kill) when it is not
        stop_timeout=math.ceil(
            DEFAULT_STOP_GRACE_S if spec.stop_grace_s is None else spec.stop_grace_s
        ),
        host_config=host_config,
        networking_config=(
            NetworkingConfig({spec.network: endpoint}) if spec.network is not None else None
        ),
    )
    if spec.healthcheck is not None:
        config["Healthcheck"] = healthcheck_config(spec.healthcheck, kind, api_version)
    return CreateRequest(config=config, networks=dict(spec.extra_networks))


def start_container(
    client: docker.DockerClient, spec: ContainerSpec, request: CreateRequest
) -> ContainerInfo:
    """Create, join to its extra networks and start `spec` as `request` says; a container that
    fails any step is removed again."""
    for attempt in range(1, EPHEMERAL_PORT_ATTEMPTS + 1):
        container_id = client.api.create_container_from_config(request.config, spec.name)["Id"]
        try:
            for network, aliases in request.networks.items():
                client.api.connect_container_to_network(
                    container_id, network, aliases=list(aliases) or None
                )
            client.api.start(container_id)
        except docker.errors.APIError as exc:
            with suppress(docker.errors.APIError):
                client.api.remove_container(container_id, force=True, v=True)
            if attempt < EPHEMERAL_PORT_ATTEMPTS and lost_port_race(spec, exc):
                continue
            raise
        return container_info(client.api.inspect_container(container_id))
    raise AssertionError("unreachable: the last attempt returns or raises")


def lost_port_race(spec: ContainerSpec, error: docker.errors.APIError) -> bool:
    """Whether starting `spec` failed only because an engine-chosen host port was taken."""
    engine_chosen = None in spec.ports.values() or any(
        each.published is None for each in spec.published
    )
    return engine_chosen and "address already in use" in explain(error)


def healthcheck_config(
    check: EngineHealthcheck, kind: Kind = "docker", api_version: str = "1.41"
) -> dict[str, Any]:
    """The engine's `Healthcheck` for `check`. The start interval goes only to Docker from
    API 1.44 on: older engines, and Podman's compat API at any version, ignore it silently."""

    def ns(seconds: float) -> int:
        return int(seconds * 1e9)

    if check.shell and len(check.test) != 1:
        raise ContainerError("a shell health check is one command line")
    config: dict[str, Any] = {
        "Test": ["CMD-SHELL", check.test[0]] if check.shell else health_test(check.test, kind),
        "Interval": ns(check.interval_s),
        "Timeout": ns(check.timeout_s),
        "Retries": check.retries,
        "StartPeriod": ns(check.start_period_s),
    }
    if check.start_interval_s is not None and kind == "docker" and version_gte(api_version, "1.44"):
        config["StartInterval"] = ns(check.start_interval_s)
    return config


def health_test(argv: list[str], kind: Kind) -> list[str]:
    """The engine's `Healthcheck.Test` running `argv`. Podman 4.3 joins a `CMD` test with
    spaces and splits it again at whitespace (`sh -c '[ "$(redis-cli ping)" = PONG ]'` reaches
    it as nine words), so there an argv with whitespace in (or an empty) argument goes as one
    shell line quoted to give back the same argv."""
    if kind == "podman" and any(not arg or any(c.isspace() for c in arg) for arg in argv):
        return ["CMD-SHELL", shlex.join(argv)]
    return ["CMD", *argv]


def _host_address(address: str, kind: Kind) -> str:
    # Podman 4.3 (netavark) publishes a port bound to "0.0.0.0" nowhere; "" binds every
    # IPv4 address, as 0.0.0.0 does on Docker (where "" would add IPv6's `::` too)
    return "" if address == "0.0.0.0" and kind == "podman" else address


def _port_bindings(spec: ContainerSpec, kind: Kind) -> dict[str, list[tuple[str, int | None]]]:
    bindings: dict[str, list[tuple[str, int | None]]] = {}
    address = _host_address(spec.bind_address, kind)
    for port, host in spec.ports.items():
        bindings.setdefault(f"{port}/tcp", []).append((address, host))
    for each in spec.published:
        key = f"{each.target}/{each.protocol}"
        bindings.setdefault(key, []).append((_host_address(each.host_ip, kind), each.published))
    return bindings


def _mount(mount: Mount) -> EngineMount:
    return EngineMount(
        mount.target,
        mount.source if mount.type != "tmpfs" else "",
        type=mount.type,
        read_only=mount.read_only,
        tmpfs_size=mount.tmpfs_size_bytes,
        tmpfs_mode=mount.tmpfs_mode,
    )


def _tmpfs(spec: ContainerSpec, kind: Kind) -> dict[str, str]:
    tmpfs = dict(spec.tmpfs)
    if spec.read_only and kind == "podman":
        taken = {*spec.tmpfs, *spec.volumes.values(), *(m.target for m in spec.mounts)}
        for path in _PODMAN_READ_ONLY_TMPFS:
            if path not in taken:
                tmpfs[path] = "ro"  # in place of Podman's writable one
    return tmpfs


def _ulimits(spec: ContainerSpec, kind: Kind, defaults: EngineDefaults) -> list[Ulimit]:
    limits = dict(spec.ulimits)
    if limits and kind == "podman":
        # Podman replaces all of its default limits with those asked for, and raises the
        # open files and processes not among them to its maximum, which fails where root may
        # not raise limits: those keep the engine's defaults, as every other does on Docker
        for name in ("nofile", "nproc"):
            if name not in limits and name in defaults.ulimits:
                limits[name] = defaults.ulimits[name]
    return [Ulimit(name=name, soft=soft, hard=hard) for name, (soft, hard) in limits.items()]


def _name_servers(spec: ContainerSpec, kind: Kind, defaults: EngineDefaults) -> list[str]:
    if spec.dns and kind == "podman":
        # Podman 4.3 writes only the servers asked for, and its networks' own name server
        # (which knows the other containers) is lost; Docker keeps its embedded one. Asked
        # first, Podman's finds the containers by name and forwards every other name.
        return [*defaults.name_servers, *spec.dns]
    return list(spec.dns)
