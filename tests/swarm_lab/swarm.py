"""The host engine's side of the lab's swarm: whether the host is in a swarm and whose it is,
`swarm init` on the lab's bridge, the nodes' states, and leaving with nothing left behind."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import docker.errors
from docker import DockerClient

from tests.swarm_lab.network import LabError

MANAGER_PORT = 2377
# every container the swarm agent starts for a task carries it
_TASK_LABEL = "com.docker.swarm.service.id"


@dataclass(frozen=True)
class HostSwarm:
    """What `docker info` says of the host engine's swarm membership."""

    state: str  # "inactive", "pending", "active", "error" or "locked"
    node_address: str

    @property
    def joined(self) -> bool:
        return self.state != "inactive"


def host_swarm(client: DockerClient) -> HostSwarm:
    swarm = client.info()["Swarm"]
    return HostSwarm(str(swarm.get("LocalNodeState") or "inactive"), str(swarm.get("NodeAddr", "")))


def init_swarm(client: DockerClient, gateway: str, heartbeat: float | None = None) -> None:
    """`docker swarm init --advertise-addr <gateway> --listen-addr <gateway>:2377`: the manager
    listens on the lab's bridge only. `heartbeat` (seconds) shortens how long a dead node takes
    to be Down (Docker's default 5 s heartbeat: ~10 s)."""
    options: dict[str, object] = {}
    if heartbeat is not None:
        options["dispatcher_heartbeat_period"] = int(heartbeat * 1e9)
    client.swarm.init(advertise_addr=gateway, listen_addr=f"{gateway}:{MANAGER_PORT}", **options)


def worker_token(client: DockerClient) -> str:
    """The host swarm's join token for workers."""
    client.swarm.reload()
    return str(client.swarm.attrs["JoinTokens"]["Worker"])


def node_states(client: DockerClient) -> dict[str, tuple[str, str]]:
    """Each node's hostname with its `.Status.State` and `.Status.Addr`; a hostname that
    joined twice (left and came back) keeps its best state: ready over anything else."""
    nodes: dict[str, tuple[str, str]] = {}
    for node in client.nodes.list():
        hostname = str(node.attrs["Description"]["Hostname"])
        status = node.attrs["Status"]
        state = (str(status.get("State", "")), str(status.get("Addr", "")))
        if hostname not in nodes or state[0] == "ready":
            nodes[hostname] = state
    return nodes


Say = Callable[[str], None]


def remove_services(client: DockerClient, say: Say, timeout: float = 30.0) -> None:
    """Remove every service and the host's containers of their tasks.

    `docker service rm` returns before the tasks stop, and a task whose PID 1 ignores SIGTERM
    takes 10 s to stop: a teardown has no use for graceful stops, so the host's task
    containers are removed by force (until none is left: the agent may be starting one).
    The workers' task containers end with the workers."""
    services = client.services.list()
    for service in services:
        with contextlib.suppress(docker.errors.NotFound):  # removed meanwhile
            service.remove()
    started = time.monotonic()
    while tasks := client.containers.list(all=True, filters={"label": _TASK_LABEL}):
        if time.monotonic() - started > timeout:
            names = [task.name for task in tasks]
            raise LabError(f"service tasks still on the host after {timeout:.0f} s: {names}")
        for task in tasks:
            try:
                task.remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if "already in progress" not in str(exc):
                    raise
    if services:
        say(f"removed {len(services)} service(s) in {time.monotonic() - started:.1f} s")


def leave_swarm(client: DockerClient) -> None:
    """`docker swarm leave --force` on the host, then the local networks a swarm leaves behind:
    `docker_gwbridge` (and an `ingress` that outlived its swarm)."""
    try:
        client.swarm.leave(force=True)
    except docker.errors.APIError as exc:
        if "not part of a swarm" not in str(exc):
            raise
    remove_swarm_networks(client)


def remove_swarm_networks(client: DockerClient) -> None:
    """Remove `docker_gwbridge` and `ingress` when the host is in no swarm; in a swarm they
    are its own. A container a test left on `docker_gwbridge` is disconnected first."""
    if host_swarm(client).joined:
        return
    for name in ("ingress", "docker_gwbridge"):
        # the name filter matches substrings: "ingress" would find "shop-ingress" too
        for network in [n for n in client.networks.list(names=[name]) if n.name == name]:
            network.reload()
            for endpoint in (network.attrs.get("Containers") or {}).values():
                network.disconnect(endpoint["Name"], force=True)
            network.remove()


@dataclass(frozen=True)
class TaskEndpoint:
    """Where the host reaches one running task: its node's `.Status.Addr` and the port the
    task published in host mode (the routing mesh needs IPVS, which these kernels lack)."""

    task_id: str
    node: str  # the node's hostname
    address: str
    port: int
    container_id: str

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/"


def task_endpoints(client: DockerClient, service: str) -> list[TaskEndpoint]:
    """The running tasks of `service` (a name or id) that publish a port, one endpoint each.

    A task on the host node lists its port twice (IPv4 and IPv6): the first is taken."""
    nodes = {node.id: node.attrs for node in client.nodes.list()}
    endpoints = []
    for task in client.api.tasks(filters={"service": service, "desired-state": "running"}):
        status = task.get("Status") or {}
        ports = (status.get("PortStatus") or {}).get("Ports") or []
        node = nodes.get(task.get("NodeID", ""))
        if status.get("State") != "running" or not ports or node is None:
            continue
        endpoints.append(
            TaskEndpoint(
                task_id=str(task["ID"]),
                node=str(node["Description"]["Hostname"]),
                address=str(node["Status"]["Addr"]),
                port=int(ports[0]["PublishedPort"]),
                container_id=str((status.get("ContainerStatus") or {}).get("ContainerID", "")),
            )
        )
    return endpoints
