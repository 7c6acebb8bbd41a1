"""A compose service as the container a stack release runs it in: Rivetr's names, labels and
networks; the service's own settings, each mapped onto the runtime port; its routed ports
published on loopback for the proxy; its files (binds, secrets, configs) taken from the
release's checkout and nowhere else. Also how a release starts it: kept, beside its previous
container, in its place, or once."""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from rivetr.adapters.runtime.base import MANAGED_LABEL, ContainerSpec, EngineHealthcheck
from rivetr.adapters.runtime.container_spec import Mount, PublishedPort
from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.mounts import Mount as ComposeMount
from rivetr.domain.compose.service import Attachment, Healthcheck, Service
from rivetr.domain.stack_events import StackRoute, StartMode

STACK_LABEL = "rivetr.stack"
RELEASE_LABEL = "rivetr.stack_release"
SERVICE_LABEL = "rivetr.stack_service"
SPEC_LABEL = "rivetr.stack_spec"  # the hash of what the container was asked to be
DEFAULT_NETWORK = "default"
RestartPolicy = Literal["no", "on-failure", "unless-stopped", "always"]
_RESTART: dict[str, RestartPolicy] = {
    "no": "no",
    "always": "always",
    "unless-stopped": "unless-stopped",
    "on-failure": "on-failure",
    "any": "always",
    "none": "no",
}


class PlanError(Exception):
    """A service Rivetr cannot map onto a container (a bind outside the checkout, a port
    range, a missing file): the release fails at its start, naming it."""


@dataclass(frozen=True)
class StackPlace:
    """What a release's containers are named and labelled by, and where its files are."""

    stack_id: str
    stack_name: str
    release_id: str
    checkout: Path  # the release's files: binds, secrets and configs come from here only
    environment_network: str  # where the environment's databases are reached by name
    # the stack's networks are overlays (`-ov`) while some of its services run on servers
    network_suffix: str = ""


def container_name(place: StackPlace, service: str) -> str:
    return f"rivetr-{place.stack_name}-{service}-{place.release_id}"


def network_name(stack_id: str, network: str = DEFAULT_NETWORK) -> str:
    return f"rivetr-stack-{stack_id}" + ("" if network == DEFAULT_NETWORK else f"-{network}")


def volume_name(stack_id: str, volume: str) -> str:
    return f"rivetr-stack-{stack_id}-{volume}"


def stack_labels(stack_id: str) -> dict[str, str]:
    return {MANAGED_LABEL: "true", STACK_LABEL: stack_id}


def service_spec(
    place: StackPlace,
    project: ComposeProject,
    name: str,
    image: str,
    *,
    variables: Mapping[str, str],
    routes: list[StackRoute],
    resolve_env: Callable[[dict[str, str]], dict[str, str]] = dict,
) -> ContainerSpec:
    """The container of service `name` in this release, on `image` (an id).

    Raises:
        PlanError: a file it mounts is not in the checkout, or a port Rivetr cannot publish.
    """
    service = project.services[name]
    networks = _networks(place, service, name)
    primary, aliases = networks[0]
    mounts = _mounts(place, project, service)
    spec = ContainerSpec(
        name=container_name(place, name),
        image=image,
        labels={**service.labels, **stack_labels(place.stack_id), SERVICE_LABEL: name},
        env=resolve_env(_environment(service, variables)),
        command=service.command,
        entrypoint=service.entrypoint,
        ports={route.port: None for route in routes if route.service == name},
        published=_published(service),
        mounts=mounts,
        tmpfs=_tmpfs(service),
        network=primary,
        aliases=aliases,
        extra_networks=dict(networks[1:]),
        hostname=service.hostname,
        extra_hosts={host: addresses[0] for host, addresses in service.extra_hosts.items()},
        dns=list(service.dns),
        dns_search=list(service.dns_search),
        healthcheck=_healthcheck(service.healthcheck),
        user=service.user,
        working_dir=service.working_dir,
        group_add=list(service.group_add),
        read_only=service.read_only,
        cap_drop=list(service.cap_drop),
        memory_bytes=_memory(service),
        nano_cpus=_nano_cpus(service),
        pids_limit=_pids(service),
        shm_size_bytes=service.shm_size,
        ulimits={n: (limit.soft, limit.hard) for n, limit in service.ulimits.items()},
        sysctls=dict(service.sysctls),
        restart_policy=_restart(service),
        stop_signal=service.stop_signal,
        stop_grace_s=service.stop_grace_period,
    )
    labels = {**spec.labels, RELEASE_LABEL: place.release_id, SPEC_LABEL: spec_hash(spec)}
    return msgspec.structs.replace(spec, labels=labels)


def spec_hash(spec: ContainerSpec) -> str:
    """What the container is asked to be, whatever release asks: two releases asking the same
    of a service may keep its container."""
    same = msgspec.structs.replace(spec, name="", labels={})
    return hashlib.sha256(msgspec.json.encode(same)).hexdigest()[:32]


def start_mode(project: ComposeProject, name: str, spec: ContainerSpec, kept: bool) -> StartMode:
    """`once`: a service others wait for to complete; `keep`: its previous container asked the
    same and still runs; `beside`: its health gates the switch and nothing it holds is one
    container's only (a volume it writes, a fixed host port); else `replace`."""
    if any(
        d.condition == "service_completed_successfully" and dep == name
        for other in project.services.values()
        for dep, d in other.depends_on.items()
    ):
        return "once"
    if kept:
        return "keep"
    writes_volume = any(m.type == "volume" and not m.read_only for m in spec.mounts)
    fixed_port = any(p.published is not None for p in spec.published)
    if spec.healthcheck is not None and not writes_volume and not fixed_port:
        return "beside"
    return "replace"


def _networks(place: StackPlace, service: Service, name: str) -> list[tuple[str, list[str]]]:
    """Each network the service is on, with the names it is reached by there: its service
    name (and `container_name`, which Rivetr does not give the container) and its aliases.
    The environment's network last, by no name of the stack's: its databases are there."""
    own = [name] + ([service.container_name] if service.container_name else [])
    attached: dict[str, Attachment | None] = {**service.networks} or {DEFAULT_NETWORK: None}
    networks = [
        (
            network_name(place.stack_id, net) + place.network_suffix,
            own + (list(a.aliases) if a else []),
        )
        for net, a in attached.items()
    ]
    return [*networks, (place.environment_network, [])]


def _environment(service: Service, variables: Mapping[str, str]) -> dict[str, str]:
    """The service's environment; a bare name takes the stack's variable of that name, and is
    left out when there is none (as Compose leaves out an unset one)."""
    env: dict[str, str] = {}
    for key, value in service.environment.items():
        if value is not None:
            env[key] = value
        elif key in variables:
            env[key] = variables[key]
    return env


def _published(service: Service) -> list[PublishedPort]:
    published = []
    for port in service.ports:
        if port.published is None:
            published.append(PublishedPort(target=port.target, published=None))
            continue
        if not port.published.isdigit():
            raise PlanError(f"ports: the range {port.published} is not published by Rivetr")
        published.append(
            PublishedPort(
                target=port.target,
                published=int(port.published),
                host_ip=port.host_ip or "0.0.0.0",
                protocol="udp" if port.protocol == "udp" else "tcp",
            )
        )
    return published


def _mounts(place: StackPlace, project: ComposeProject, service: Service) -> list[Mount]:
    mounts = [_mount(place, m) for m in service.volumes]
    for secret in service.secrets:
        mounts.append(_file(place, project.secrets[secret.source].file, secret.path(), "secret"))
    for config in service.configs:
        mounts.append(_file(place, project.configs[config.source].file, config.path(), "config"))
    return mounts


def _mount(place: StackPlace, mount: ComposeMount) -> Mount:
    match mount.type:
        case "volume":
            # an anonymous volume is named for its place, so a redeploy finds it again
            source = (
                mount.source or "anon-" + hashlib.sha256(mount.target.encode()).hexdigest()[:12]
            )
            return Mount(
                type="volume",
                source=volume_name(place.stack_id, source),
                target=mount.target,
                read_only=mount.read_only,
            )
        case "bind":
            return Mount(
                type="bind",
                source=str(inside(place.checkout, mount.source or "")),
                target=mount.target,
                read_only=mount.read_only,
            )
        case "tmpfs":
            tmpfs = mount.tmpfs
            return Mount(
                type="tmpfs",
                source="",
                target=mount.target,
                tmpfs_size_bytes=tmpfs.size if tmpfs else None,
                tmpfs_mode=tmpfs.mode if tmpfs else None,
            )
    raise PlanError(f"volumes: a {mount.type} mount is not run by Rivetr")


def _file(place: StackPlace, source: str | None, target: str, what: str) -> Mount:
    """A secret's or config's file, read-only at its target. Its text given inline or taken
    from a variable is written into the release's checkout first (`StackFiles`)."""
    if source is None:
        source = posixpath.join(".rivetr", what, target.strip("/").replace("/", "_"))
    return Mount(
        type="bind", source=str(inside(place.checkout, source)), target=target, read_only=True
    )


def inside(checkout: Path, relative: str) -> Path:
    """`relative` in the checkout, its links followed; refused when it leads out of it or is
    not there (a repository's link to /etc must not become a bind of /etc).

    Raises:
        PlanError: naming the path.
    """
    root = checkout.resolve()
    if os.path.isabs(relative):
        raise PlanError(f"{relative} is not a file of the stack")
    found = (root / relative).resolve()
    if found != root and root not in found.parents:
        raise PlanError(f"{relative} leads out of the stack's files")
    if not found.exists():
        raise PlanError(f"{relative} is not in the stack's files")
    return found


def _tmpfs(service: Service) -> dict[str, str]:
    tmpfs = {}
    for entry in service.tmpfs:
        path, _, options = entry.partition(":")
        tmpfs[path] = options
    return tmpfs


def _healthcheck(check: Healthcheck | None) -> EngineHealthcheck | None:
    if check is None or check.disable or not check.test or check.test[0] == "NONE":
        return None
    kind, *rest = check.test
    shell = kind == "CMD-SHELL"
    return EngineHealthcheck(
        test=[" ".join(rest)] if shell else rest,
        shell=shell,
        interval_s=check.interval or 30.0,
        timeout_s=check.timeout or 30.0,
        retries=check.retries or 3,
        start_period_s=check.start_period or 0.0,
        start_interval_s=check.start_interval,
    )


def _limits(service: Service) -> tuple[float | None, int | None, int | None]:
    limits = (
        service.deploy.resources.limits if service.deploy and service.deploy.resources else None
    )
    if limits is None:
        return None, None, None
    return limits.cpus, limits.memory, limits.pids


def _memory(service: Service) -> int | None:
    memory = _limits(service)[1] or service.mem_limit
    return memory if memory and memory > 0 else None


def _nano_cpus(service: Service) -> int | None:
    cpus = _limits(service)[0] or service.cpus
    return round(cpus * 1_000_000_000) if cpus else None


def _pids(service: Service) -> int | None:
    return _limits(service)[2] or service.pids_limit


def _restart(service: Service) -> RestartPolicy:
    """Compose's `restart` (or the swarm-style `deploy.restart_policy`); none given: brought
    back unless stopped, as Rivetr keeps every service running."""
    if service.restart:
        return _RESTART.get(service.restart.split(":")[0], "unless-stopped")
    policy = service.deploy.restart_policy if service.deploy else None
    if policy is not None and policy.condition:
        return _RESTART.get(policy.condition, "unless-stopped")
    return "unless-stopped"
