"""The services of a stack release that run on servers (`domain/compose/servers.py` says
which): each a swarm service of its copies, started beside the previous release's (or that one
kept when nothing about it changed), its image pushed where every server pulls it, on overlay
networks the stack's containers on this machine share, and gated on every copy running (a
copy with a health check runs only once it passes: the engine holds it at `starting` until
then). Its routes are balanced over the copies by Rivetr's proxy at the switch; a failed
release removes the services it started."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import msgspec

from rivetr.adapters.clock import Clock
from rivetr.adapters.runtime.base import ContainerError, ContainerSpec
from rivetr.adapters.runtime.container_spec import Mount
from rivetr.adapters.swarm.base import (
    NodeInfo,
    RegistryLogin,
    ServiceSpec,
    SwarmEngine,
    SwarmInfo,
    TaskInfo,
)
from rivetr.domain.compose import servers
from rivetr.domain.compose.service import Service
from rivetr.domain.replica_events import Member
from rivetr.service.reactors.replica_release import FAILED_STATES, NO_NODE, node_name, waiting_on
from rivetr.service.reactors.stack_gates import STEADY_S, GateFailed, health_deadline_s
from rivetr.service.reactors.stack_ports import StepFailed
from rivetr.service.reactors.stack_specs import SPEC_LABEL

OVERLAY_SUFFIX = "-ov"  # beside the stack's bridges of the same name, of releases without
BOOT_S = 180.0  # every server pulling the image, before a copy's own health check starts
POLL_S = 0.5
NO_TASK_S = 5.0  # a global service the engine gave no task this long: no server may run it
_LONGEST = 63  # a swarm service's name is one DNS label
_REPOSITORY = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Servers:
    """What the services on servers of one release run on: the swarm this engine manages
    (`info`: its own node), and the registry every server pulls from (None: this engine's
    images, which only a swarm of this machine alone can run)."""

    swarm: SwarmEngine
    info: SwarmInfo
    registry: RegistryLogin | None


def service_name(container: str) -> str:
    """The swarm service's name: the container's it stands for, or, too long for one DNS
    label, that name's digest."""
    if len(container) <= _LONGEST:
        return container
    return f"rivetr-{hashlib.sha256(container.encode()).hexdigest()[:32]}"


def repository(registry: RegistryLogin, stack: str, service: str) -> str:
    """Where a service's image is pushed: one repository per stack and service, in the
    letters a registry takes."""
    part = _REPOSITORY.sub("-", f"{stack}-{service}".lower()).strip("-")
    return f"{registry.address}/rivetr/{part}"


async def pullable(servers_: Servers, image: str, stack: str, service: str, tag: str) -> str:
    """The image every server pulls: pushed to the registry, by digest; without one, this
    engine's own, which only a swarm of this machine alone can run.

    Raises:
        StepFailed: no registry while other servers are there, or the registry refused."""
    registry = servers_.registry
    if registry is None:
        others = sorted(
            node.hostname
            for node in await servers_.swarm.nodes()
            if node.node_id != servers_.info.node_id
        )
        if others:
            raise StepFailed(
                f"{service} runs on servers and {', '.join(others)} cannot pull an image built"
                " here: set a registry every server reaches (`rivetr servers registry ADDRESS`,"
                " `--run`, or the swarm_registry setting)"
            )
        return image
    try:
        return await servers_.swarm.push_image(
            image, repository(registry, stack, service), tag, registry
        )
    except ContainerError as exc:
        raise StepFailed(f"the registry refused the image of {service}: {exc}") from None


def servers_spec(
    container: ContainerSpec,
    service: Service,
    *,
    image: str,
    servers_: Servers,
    environment: tuple[str, str],
) -> ServiceSpec:
    """The swarm service standing for `container` (the one a release on one machine would
    run, named, labelled, networked and mounted as that one, on the stack's overlays): its
    copies, mode and placement from `deploy`; on the `environment`'s overlay where its bridge
    was (`(bridge, overlay)`: the databases on this machine are on both); pinned to this
    machine when it mounts anything of it (a volume, a file of the stack), which no other
    server holds."""
    pinned = any(mount.type in ("volume", "bind") for mount in container.mounts)
    constraints = servers.constraints(service)
    if pinned:
        constraints.append(f"node.id=={servers_.info.node_id}")
    bridge, environment_overlay = environment
    networks = [
        environment_overlay if network == bridge else network
        for network in [container.network, *container.extra_networks]
        if network
    ]
    aliases = sorted(
        {*container.aliases, *(a for found in container.extra_networks.values() for a in found)}
    )
    tmpfs = [Mount(type="tmpfs", source="", target=path) for path in container.tmpfs]
    published = {port for port in container.ports}
    published |= {p.target for p in container.published if p.protocol == "tcp"}
    registry = servers_.registry
    spec = ServiceSpec(
        name=service_name(container.name),
        image=image,
        replicas=servers.replicas(service),
        mode="global" if servers.is_global(service) else "replicated",
        port=None,
        ports=sorted(published),
        max_per_node=servers.max_per_node(service),
        labels=container.labels,
        env=dict(container.env),
        constraints=constraints,
        spread=servers.spread(service),
        networks=networks,
        aliases=aliases,
        memory_bytes=container.memory_bytes,
        nano_cpus=container.nano_cpus,
        registry_auth=registry if registry is not None and registry.signs_in else None,
        command=container.command,
        entrypoint=container.entrypoint,
        healthcheck=container.healthcheck,
        user=container.user,
        working_dir=container.working_dir,
        hostname=container.hostname,
        mounts=[*container.mounts, *tmpfs],
        extra_hosts=dict(container.extra_hosts),
        dns=list(container.dns),
        dns_search=list(container.dns_search),
        group_add=list(container.group_add),
        read_only=container.read_only,
        cap_drop=list(container.cap_drop),
        sysctls=dict(container.sysctls),
        stop_signal=container.stop_signal,
        stop_grace_s=container.stop_grace_s,
    )
    # what the service is asked to be, copies and placement too: an unchanged one is kept
    asked = msgspec.structs.replace(spec, name="", image="", labels={}, registry_auth=None)
    digest = hashlib.sha256(
        container.labels[SPEC_LABEL].encode() + msgspec.json.encode(asked)
    ).hexdigest()[:32]
    return msgspec.structs.replace(spec, labels={**spec.labels, SPEC_LABEL: digest})


def placement_words(spec: ServiceSpec) -> str:
    said = [*spec.constraints, *(f"spread over {label}" for label in spec.spread)]
    if spec.max_per_node:
        said.append(f"at most {spec.max_per_node} per server")
    return "; ".join(said) or "any server"


def members(
    tasks: list[TaskInfo], ports: list[int], nodes: dict[str, NodeInfo]
) -> dict[int, list[Member]]:
    """Each routed container port, with the copies answering it."""
    return {
        port: [
            Member(
                task_id=task.task_id,
                node=node_name(task, nodes),
                address=task.address,
                port=task.published_ports[port],
            )
            for task in tasks
            if port in task.published_ports
        ]
        for port in ports
    }


async def wait_copies(
    swarm: SwarmEngine,
    clock: Clock,
    spec: ServiceSpec,
    name: str,
    routed: list[int],
    *,
    kept: bool = False,
) -> list[TaskInfo]:
    """Every copy of service `name` running (its routed ports published), steadily when it
    has no health check; returns them. A `kept` service's tasks that had ended before the
    wait (the engine's history of its slots) are not held against it.

    Raises:
        GateFailed: a copy the engine could not start (an image a server cannot pull, a
            process that exits, a failed health check), one no server may take, or not all
            running in time, in the engine's words.
    """
    limit = BOOT_S + health_deadline_s(spec.healthcheck)
    started = clock.monotonic()
    steady_since: float | None = None
    unplaced_looks = 0
    nodes = {node.node_id: node for node in await swarm.nodes()}
    ended = {t.task_id for t in await swarm.tasks(name) if kept and t.desired != "running"}
    while True:
        tasks = [t for t in await swarm.tasks(name) if t.task_id not in ended]
        if any(task.node_id not in nodes for task in tasks if task.node_id):
            nodes = {node.node_id: node for node in await swarm.nodes()}
        for task in tasks:
            if task.state in FAILED_STATES:
                raise GateFailed(
                    f"copy {task.slot} on {node_name(task, nodes)} {task.state}:"
                    f" {task.message or 'no reason given'}"
                )
        now = clock.monotonic()
        unplaced_looks = _unplaced(tasks, unplaced_looks)
        _refuse_unplaced(spec, tasks, unplaced_looks)
        if spec.mode == "global" and not tasks and now - started >= NO_TASK_S:
            raise GateFailed(f"no server may run a copy ({placement_words(spec)})")
        wanted = [t for t in tasks if t.desired == "running"]
        running = [t for t in wanted if t.running and all(p in t.published_ports for p in routed)]
        enough = len(running) >= spec.replicas if spec.mode == "replicated" else bool(running)
        everyone = enough and len(running) == len(wanted)
        if everyone and spec.healthcheck is not None:
            return running
        if everyone:
            steady_since = now if steady_since is None else steady_since
            if now - steady_since >= STEADY_S:
                return running
        else:
            steady_since = None
        if now - started >= limit:
            raise GateFailed(
                f"{len(running)} of {len(wanted) or spec.replicas} copies running within"
                f" {limit:.0f} s{waiting_on(tasks, nodes)}"
            )
        await clock.sleep(POLL_S)


def _unplaced(tasks: list[TaskInfo], looks: int) -> int:
    """Looks in a row with a copy no server may take (placement is decided at once: twice in
    a row stays so)."""
    return looks + 1 if any(t.state == "pending" and NO_NODE in t.message for t in tasks) else 0


def _refuse_unplaced(spec: ServiceSpec, tasks: list[TaskInfo], looks: int) -> None:
    if looks >= 2:
        unplaced = next(t for t in tasks if t.state == "pending" and NO_NODE in t.message)
        raise GateFailed(
            f"a copy has no server to run on ({placement_words(spec)}): {unplaced.message}"
        )
