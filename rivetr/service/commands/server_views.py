"""What the servers' reads answer: the swarm with its servers, invitations and registry (never
its password), one server, the copies on it; and the command that joins a node, whose token is
read from the engine for that one answer and recorded nowhere."""

from __future__ import annotations

import msgspec

from rivetr.domain.swarm import Node, SwarmState


class ServerView(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str
    hostname: str
    role: str
    manager: bool  # the machine Rivetr runs on
    state: str
    availability: str
    address: str
    labels: dict[str, str]
    cpus: float
    memory_bytes: int
    engine_version: str
    leader: bool = False  # leads the swarm's managers (this machine, unless another manager)
    message: str = ""


class CopyView(msgspec.Struct, frozen=True, kw_only=True):
    """A copy of an app's live release running on a server, and where it answers."""

    app: str
    deployment_id: str
    address: str
    port: int


class InvitationView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: str
    expires_at: str
    engine: str | None = None  # the engine API Rivetr joined it through (None: the command)


class RegistryView(msgspec.Struct, frozen=True, kw_only=True):
    """Where the servers pull images from; the password is never shown."""

    address: str
    username: str = ""
    # "set" through Rivetr, "hosted" (run by Rivetr on the manager: no account, the engines
    # present its client certificate) or "setting" (swarm_registry, no account)
    source: str = "set"


class BuildNodeView(msgspec.Struct, frozen=True, kw_only=True):
    """The node the images of apps on servers are built on; its keys are never shown."""

    engine: str
    hostname: str


class SwarmView(msgspec.Struct, frozen=True, kw_only=True):
    active: bool
    swarm_id: str | None = None
    advertise_addr: str | None = None
    init_pending: bool = False
    init_failure: str | None = None
    servers: list[ServerView] = msgspec.field(default_factory=list)
    invited: list[InvitationView] = msgspec.field(default_factory=list)
    registry: RegistryView | None = None
    build_node: BuildNodeView | None = None  # None: built on the manager


class JoinCommand(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: str
    expires_at: str
    command: str  # to run as root on the node


def server_view(state: SwarmState, node: Node) -> ServerView:
    return ServerView(
        node_id=node.node_id,
        hostname=node.hostname,
        role=node.role,
        manager=node.node_id == state.manager_node,
        state=node.state,
        availability=node.availability,
        address=node.address,
        labels=dict(node.labels),
        cpus=node.cpus,
        memory_bytes=node.memory_bytes,
        engine_version=node.engine_version,
        leader=node.leader,
        message=node.message,
    )


def registry_view(state: SwarmState, default: str | None) -> RegistryView | None:
    registry = state.registry
    if registry is not None:
        source = "set" if registry.hosted is None else "hosted"
        return RegistryView(address=registry.address, username=registry.username, source=source)
    return RegistryView(address=default, source="setting") if default else None


def view(state: SwarmState, default_registry: str | None = None) -> SwarmView:
    servers = sorted(state.nodes.values(), key=lambda n: (n.role != "manager", n.hostname))
    return SwarmView(
        registry=registry_view(state, default_registry),
        build_node=None
        if state.build_node is None
        else BuildNodeView(engine=state.build_node.engine, hostname=state.build_node.hostname),
        active=state.active,
        swarm_id=state.swarm_id,
        advertise_addr=state.advertise_addr,
        init_pending=state.init_pending,
        init_failure=state.init_failure,
        servers=[server_view(state, node) for node in servers],
        invited=[
            InvitationView(name=i.name, role=i.role, expires_at=i.expires_at, engine=i.engine)
            for i in sorted(state.invited.values(), key=lambda i: i.name)
        ],
    )
