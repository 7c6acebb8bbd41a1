"""Which services of a stack run on servers, and how. With servers (a swarm this Rivetr
manages), a service asks to run there as Swarm reads a stack: `deploy.replicas` (or `scale`)
above 1, `deploy.mode: global`, or a `deploy.placement`. It then runs as a swarm service of
that many copies, placed as it says; every other service stays a container on this machine,
as without servers (a database keeps its volume there).

What a service on servers cannot take along from one machine is refused before anything
starts, naming the key and its line: a fixed host port (each server would give it to one copy,
and a new release could not start beside the old), a volume it writes (a volume lives on one
server), running once, and the settings a swarm service has no field for."""

from __future__ import annotations

from collections.abc import Iterator

from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.refusals import Collected
from rivetr.domain.compose.service import Service
from rivetr.domain.compose.where import Where
from rivetr.domain.scale_events import MAX_REPLICAS

# a container's settings a swarm service has no field for, as the model names them
_NOT_ON_SERVERS = (
    "network_mode", "pids_limit", "shm_size", "ulimits", "privileged", "cap_add", "devices",
    "device_cgroup_rules", "security_opt", "pid", "ipc", "uts", "cgroup", "userns_mode",
    "use_api_socket", "gpus",
)  # fmt: skip


def on_servers(service: Service) -> bool:
    """Whether the service asks to run as copies on servers rather than as one container."""
    deploy = service.deploy
    placement = deploy.placement if deploy else None
    return (
        replicas(service) > 1
        or is_global(service)
        or (placement is not None and bool(placement.constraints or placement.preferences))
    )


def is_global(service: Service) -> bool:
    return service.deploy is not None and service.deploy.mode == "global"


def replicas(service: Service) -> int:
    """Its copies, as `deploy.replicas` or `scale` says (`deploy` first, as Compose reads it)."""
    if service.deploy is not None and service.deploy.replicas is not None:
        return service.deploy.replicas
    return service.scale if service.scale is not None else 1


def constraints(service: Service) -> list[str]:
    """The engine's placement constraints, as written (`node.labels.zone==eu`)."""
    placement = service.deploy.placement if service.deploy else None
    return list(placement.constraints) if placement else []


def spread(service: Service) -> list[str]:
    """The labels its copies are spread over (`node.labels.zone`)."""
    placement = service.deploy.placement if service.deploy else None
    if placement is None:
        return []
    return [p.spread for p in placement.preferences if p.spread]


def max_per_node(service: Service) -> int | None:
    placement = service.deploy.placement if service.deploy else None
    return placement.max_replicas_per_node if placement else None


def runs_once(project: ComposeProject, name: str) -> bool:
    """Another service waits for it to complete: it runs once, to its end."""
    return any(
        d.condition == "service_completed_successfully" and dep == name
        for other in project.services.values()
        for dep, d in other.depends_on.items()
    )


def refuse_on_servers(project: ComposeProject, where: Where) -> None:
    """Raises ComposeError (several at once as ComposeRefusals): what each service on servers
    asks that it cannot have there, naming the key and its line."""
    found = Collected(where)
    for name, service in project.services.items():
        if on_servers(service):
            for problem, key in _problems(project, name, service):
                found.refuse(problem, ("services", name, *key))
        elif replicas(service) < 1:
            found.refuse("a service runs at least one copy", ("services", name, "deploy"))
    found.raise_any()


def _problems(
    project: ComposeProject, name: str, service: Service
) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    if not is_global(service) and not 1 <= replicas(service) <= MAX_REPLICAS:
        yield (
            f"a service on servers runs 1 to {MAX_REPLICAS} copies, not {replicas(service)}",
            ("deploy", "replicas"),
        )
    if runs_once(project, name):
        yield (
            "a service another waits to complete runs once, on this machine: give it no"
            " replicas, mode or placement",
            ("deploy",),
        )
    for index, port in enumerate(service.ports):
        if port.published is not None:
            yield (
                f"a service on servers publishes no fixed host port ({port.published}): each"
                " server would give it to one copy, and a new release could not start beside"
                " the old; reach it through the stack's routes",
                ("ports", index),
            )
    for index, mount in enumerate(service.volumes):
        if mount.type == "volume" and not mount.read_only:
            yield (
                f"a service on servers writes no volume ({mount.target}): a volume lives on one"
                " server; keep the service that writes it one container (no replicas, mode or"
                " placement), as databases are",
                ("volumes", index),
            )
    for field in _NOT_ON_SERVERS:
        if getattr(service, field, None) not in (None, False, [], {}, ""):
            yield f"{field} is not run on servers: a swarm service has no such setting", (field,)
