"""Reading the engine's swarm answers (`docker info`, node and task inspections) as the port's
Structs, and a service's own tasks as the engine lists them."""

from __future__ import annotations

from typing import Any

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]

from rivetr.adapters.swarm.base import NodeInfo, SwarmInfo, TaskInfo

_STATES = {"ready", "down", "disconnected"}
_AVAILABILITIES = {"active", "pause", "drain"}


def swarm_info(info: dict[str, Any]) -> SwarmInfo | None:
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        return None
    return SwarmInfo(
        swarm_id=str((swarm.get("Cluster") or {}).get("ID", "")),
        node_id=str(swarm.get("NodeID", "")),
        manager=bool(swarm.get("ControlAvailable")),
        advertise_addr=str(swarm.get("NodeAddr", "")),
    )


def service_tasks(client: docker.DockerClient, service: str) -> list[dict[str, Any]]:
    """The service's own tasks as the engine lists them (none when there is no such service):
    the engine's filter matches names by prefix too."""
    try:
        service_id = client.api.inspect_service(service)["ID"]
    except docker.errors.NotFound:
        return []
    return [
        task
        for task in client.api.tasks(filters={"service": service_id})
        if task.get("ServiceID") == service_id
    ]


def node_info(attrs: dict[str, Any]) -> NodeInfo:
    spec = attrs.get("Spec") or {}
    description = attrs.get("Description") or {}
    resources = description.get("Resources") or {}
    status = attrs.get("Status") or {}
    state = str(status.get("State", "unknown"))
    availability = str(spec.get("Availability", "active"))
    return NodeInfo(
        node_id=str(attrs["ID"]),
        hostname=str(description.get("Hostname", "")),
        role="manager" if spec.get("Role") == "manager" else "worker",
        state=state if state in _STATES else "unknown",  # type: ignore[arg-type]
        availability=availability if availability in _AVAILABILITIES else "active",  # type: ignore[arg-type]
        address=_address(attrs),
        labels=dict(spec.get("Labels") or {}),
        cpus=int(resources.get("NanoCPUs", 0)) / 1e9,
        memory_bytes=int(resources.get("MemoryBytes", 0)),
        engine_version=str((description.get("Engine") or {}).get("EngineVersion", "")),
        leader=bool((attrs.get("ManagerStatus") or {}).get("Leader")),
        message=str(status.get("Message", "")),
    )


def _address(attrs: dict[str, Any]) -> str:
    """Where the node is reached: its status address, which a manager reports as 0.0.0.0 in
    some versions (then its manager address, without the port)."""
    addr = str((attrs.get("Status") or {}).get("Addr", ""))
    if addr in ("", "0.0.0.0"):
        manager = str((attrs.get("ManagerStatus") or {}).get("Addr", ""))
        addr = manager.rsplit(":", 1)[0] if manager else addr
    return addr


def task_info(attrs: dict[str, Any], service: str, addresses: dict[str, str]) -> TaskInfo:
    status = attrs.get("Status") or {}
    node_id = str(attrs.get("NodeID", ""))
    return TaskInfo(
        task_id=str(attrs["ID"]),
        service=service,
        slot=int(attrs.get("Slot", 0)),
        node_id=node_id,
        desired=str(attrs.get("DesiredState", "")),
        state=str(status.get("State", "")),
        message=str(status.get("Err") or status.get("Message") or ""),
        address=addresses.get(node_id, ""),
        published_ports=_published(status),
    )


def _published(status: dict[str, Any]) -> dict[int, int]:
    """The task's host-mode ports, container port to node port, in the order the engine lists
    them; a task on a node with IPv6 lists each twice: the first."""
    found: dict[int, int] = {}
    for port in (status.get("PortStatus") or {}).get("Ports") or []:
        if port.get("Protocol", "tcp") == "tcp" and port.get("PublishedPort"):
            found.setdefault(int(port.get("TargetPort", 0)), int(port["PublishedPort"]))
    return found
