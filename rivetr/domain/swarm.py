"""The instance's servers: the local engine made the manager of a Docker swarm, nodes invited
to join it and joined, their labels and availability, their state as the engine tells it. The
state is folded from the "swarm" stream; decisions check what is asked against it, and
`observe` turns what the engine lists now into the facts the log lacks (a node that joined,
went down, came back, was changed or removed outside Rivetr)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from rivetr.domain.commands import Command
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.swarm_events import (
    STREAM,
    Availability,
    Bytes,
    Cpus,
    EngineUrl,
    FoundLabels,
    Labels,
    NodeName,
    NodeRole,
    NodeState,
    SwarmBuildNodeCleared,
    SwarmBuildNodeSet,
    SwarmInitialised,
    SwarmInitRequested,
    SwarmNodeChanged,
    SwarmNodeChangeRequested,
    SwarmNodeDescribed,
    SwarmNodeInvited,
    SwarmNodeJoined,
    SwarmNodeJoinFailed,
    SwarmNodeJoinTimedOut,
    SwarmNodeRemoved,
    SwarmNodeStateChanged,
    SwarmOperationFailed,
    SwarmRegistryCleared,
    SwarmRegistryHosted,
    SwarmRegistrySet,
    SwarmRegistryStopped,
)

MAX_LABELS = 64


class InitSwarm(Command, frozen=True, kw_only=True):
    """Make the local engine a swarm manager that nodes reach at `advertise_addr`."""

    advertise_addr: str


class InviteNode(Command, frozen=True, kw_only=True):
    name: NodeName
    role: NodeRole = "worker"


class JoinNode(Command, frozen=True, kw_only=True):
    """Join a node through its engine API, which Rivetr reaches over TLS with a client
    certificate (the certificate, its key and the CA that signed the node's are handed to the
    adapter for the call alone: never recorded)."""

    engine: EngineUrl
    role: NodeRole = "worker"


class ChangeNode(Command, frozen=True, kw_only=True):
    labels: Labels | None = None
    availability: Availability | None = None


class RemoveNode(Command, frozen=True, kw_only=True):
    force: bool = False


class Node(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str
    hostname: str
    role: NodeRole
    address: str
    state: NodeState = "ready"
    message: str = ""
    availability: Availability = "active"
    labels: FoundLabels = msgspec.field(default_factory=dict)
    cpus: float = 0.0
    memory_bytes: int = 0
    engine_version: str = ""
    leader: bool = False


class ObservedNode(msgspec.Struct, frozen=True, kw_only=True):
    """A node as the engine lists it now."""

    node_id: str
    hostname: str
    role: NodeRole
    state: NodeState
    availability: Availability
    address: str
    labels: FoundLabels = msgspec.field(default_factory=dict)
    cpus: Cpus = 0.0
    memory_bytes: Bytes = 0
    engine_version: str = ""
    leader: bool = False
    message: str = ""


class Registry(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    username: str = ""
    password: str | None = None  # sealed
    hosted: SwarmRegistryHosted | None = None  # run by Rivetr, with what it runs with


class SwarmState(msgspec.Struct, frozen=True, kw_only=True):
    swarm_id: str | None = None
    manager_node: str | None = None
    advertise_addr: str | None = None
    init_pending: bool = False
    init_failure: str | None = None
    nodes: Mapping[str, Node] = msgspec.field(default_factory=dict)
    invited: Mapping[str, SwarmNodeInvited] = msgspec.field(default_factory=dict)
    pending: Mapping[str, SwarmNodeChangeRequested] = msgspec.field(default_factory=dict)
    registry: Registry | None = None  # where the servers pull from, as set (else the setting's)
    build_node: SwarmBuildNodeSet | None = None  # where apps on servers are built (else here)

    @property
    def active(self) -> bool:
        return self.swarm_id is not None


def stream_id(_: str = "") -> str:
    return STREAM


def evolve(state: SwarmState, event: Event) -> SwarmState:
    replace = msgspec.structs.replace
    match event:
        case SwarmInitRequested():
            return replace(state, init_pending=True, init_failure=None)
        case SwarmInitialised():
            manager = Node(
                node_id=event.node_id,
                hostname=event.hostname,
                role="manager",
                address=event.advertise_addr,
            )
            return replace(
                state,
                swarm_id=event.swarm_id,
                manager_node=event.node_id,
                advertise_addr=event.advertise_addr,
                init_pending=False,
                nodes={**state.nodes, event.node_id: manager},
            )
        case SwarmNodeInvited():
            return replace(state, invited={**state.invited, event.name: event})
        case SwarmNodeJoined():
            node = Node(
                node_id=event.node_id,
                hostname=event.hostname,
                role=event.role,
                address=event.address,
                availability=event.availability,
                labels=dict(event.labels),
                cpus=event.cpus,
                memory_bytes=event.memory_bytes,
                engine_version=event.engine_version,
                leader=event.leader,
            )
            invited = {k: v for k, v in state.invited.items() if k != event.hostname}
            return replace(state, nodes={**state.nodes, event.node_id: node}, invited=invited)
        case SwarmNodeDescribed():
            nodes = dict(state.nodes)
            if event.node_id in nodes:
                nodes[event.node_id] = replace(nodes[event.node_id], **_described_fields(event))
            invited = {k: v for k, v in state.invited.items() if k != event.hostname}
            return replace(state, nodes=nodes, invited=invited)
        case SwarmNodeJoinTimedOut() | SwarmNodeJoinFailed():
            return replace(
                state, invited={k: v for k, v in state.invited.items() if k != event.name}
            )
        case SwarmNodeChangeRequested():
            return replace(state, pending={**state.pending, event.change_id: event})
        case SwarmNodeChanged():
            nodes = dict(state.nodes)
            if event.node_id in nodes:
                nodes[event.node_id] = replace(
                    nodes[event.node_id], labels=dict(event.labels), availability=event.availability
                )
            return replace(state, nodes=nodes, pending=_settled(state, event.change_id))
        case SwarmNodeRemoved():
            nodes = {k: v for k, v in state.nodes.items() if k != event.node_id}
            build = state.build_node
            if build is not None and build.node_id == event.node_id:
                build = None  # a node gone builds nothing: the manager does again
            return replace(
                state, nodes=nodes, pending=_settled(state, event.change_id), build_node=build
            )
        case SwarmBuildNodeSet():
            return replace(state, build_node=event)
        case SwarmBuildNodeCleared():
            return replace(state, build_node=None)
        case SwarmNodeStateChanged():
            nodes = dict(state.nodes)
            if event.node_id in nodes:
                nodes[event.node_id] = replace(
                    nodes[event.node_id], state=event.state, message=event.message
                )
            return replace(state, nodes=nodes)
        case SwarmRegistrySet():
            registry = Registry(
                address=event.address, username=event.username, password=event.password
            )
            return replace(state, registry=registry)
        case SwarmRegistryHosted():
            return replace(state, registry=Registry(address=event.address, hosted=event))
        case SwarmRegistryCleared() | SwarmRegistryStopped():
            return replace(state, registry=None)
        case SwarmOperationFailed():
            if event.operation == "init":
                return replace(state, init_pending=False, init_failure=event.reason)
            return replace(state, pending=_settled(state, event.change_id))
    return state


def _settled(state: SwarmState, change_id: str | None) -> Mapping[str, SwarmNodeChangeRequested]:
    return {k: v for k, v in state.pending.items() if k != change_id}


def fold(_: str, events: Iterable[Event]) -> SwarmState:
    state = SwarmState()
    for event in events:
        state = evolve(state, event)
    return state


def node(state: SwarmState, ref: str) -> Node:
    """A node named by its id (or an unambiguous start of it) or its host name.

    Raises NotFound."""
    if ref in state.nodes:
        return state.nodes[ref]
    found = [n for n in state.nodes.values() if n.hostname == ref] or [
        n for n in state.nodes.values() if len(ref) >= 6 and n.node_id.startswith(ref)
    ]
    if len(found) != 1:
        known = ", ".join(sorted(n.hostname for n in state.nodes.values())) or "none"
        many = " (more than one goes by that name: use its id)" if found else ""
        raise NotFound(f"no server {ref!r}{many}; the servers: {known}")
    return found[0]


def require_swarm(state: SwarmState) -> None:
    """Raises InvalidCommand when there is no swarm yet."""
    if not state.active:
        raise InvalidCommand(
            "this instance has no swarm yet: make the local engine its manager first"
            " (`rivetr servers init --advertise-addr ADDRESS`)"
        )


def decide_init(state: SwarmState, command: InitSwarm) -> list[Event]:
    """Raises AlreadyExists (a swarm, or a request for one, stands) or InvalidCommand (the
    address is not an IP address)."""
    if state.active:
        raise AlreadyExists(
            f"the local engine already manages swarm {state.swarm_id}, advertised at"
            f" {state.advertise_addr}"
        )
    if state.init_pending:
        raise AlreadyExists("a swarm is being made already: wait for it")
    try:
        address = ipaddress.ip_address(command.advertise_addr)
    except ValueError:
        raise InvalidCommand(
            f"advertise_addr must be an IP address nodes reach this machine at, not"
            f" {command.advertise_addr!r}",
            field="advertise_addr",
        ) from None
    if address.is_unspecified or address.is_multicast:
        raise InvalidCommand(
            f"advertise_addr {address} is not an address a node can reach", field="advertise_addr"
        )
    return [SwarmInitRequested(advertise_addr=str(address))]


def decide_invite(state: SwarmState, command: InviteNode, expires_at: datetime) -> list[Event]:
    require_swarm(state)
    _name_free(state, command.name)
    return [
        SwarmNodeInvited(name=command.name, role=command.role, expires_at=expires_at.isoformat())
    ]


def decide_join(
    state: SwarmState, command: JoinNode, hostname: str, expires_at: datetime
) -> list[Event]:
    """The invitation of the node whose engine (at `command.engine`) calls itself `hostname`,
    joined through that engine. Raises InvalidCommand (no swarm; a host name the engine gave
    that no node can have) or AlreadyExists (a server by that name is in the swarm)."""
    require_swarm(state)
    try:
        name = msgspec.convert(hostname, NodeName)
    except msgspec.ValidationError:
        raise InvalidCommand(
            f"the engine at {command.engine} calls its machine {hostname!r}, which is no host"
            " name a server can have",
            field="engine",
        ) from None
    _name_free(state, name)
    invited = SwarmNodeInvited(
        name=name, role=command.role, expires_at=expires_at.isoformat(), engine=command.engine
    )
    return [invited]


# what each way of reaching a node's engine needs, besides its URL
_ENGINE_CREDENTIALS = {"tcp": ("ca", "cert", "key"), "ssh": ("ssh_key", "host_key")}
HOST_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)


def require_credentials(engine: str, given: Mapping[str, str]) -> None:
    """Raises InvalidCommand when what reaching `engine` takes is missing from `given`: a
    CA, certificate and key over TLS; a private key and the node's host key over SSH."""
    scheme = engine.split("://", 1)[0]
    missing = [name for name in _ENGINE_CREDENTIALS[scheme] if not given.get(name, "").strip()]
    if missing:
        how = "TLS" if scheme == "tcp" else "SSH"
        raise InvalidCommand(
            f"an engine reached over {how} ({engine}) needs {', '.join(missing)}",
            field=missing[0],
        )


def host_key(text: str) -> str:
    """The node's SSH host key as `TYPE BASE64`, from a line as `ssh-keyscan` or a known_hosts
    file gives it (the host names before it and a comment after are dropped). Raises
    InvalidCommand: not a key, or a revoked or CA line (`@revoked`, `@cert-authority`)."""
    words = text.split()
    found = next((i for i, word in enumerate(words[:-1]) if word in HOST_KEY_TYPES), None)
    if found is not None and not words[0].startswith("@"):
        kind, blob = words[found], words[found + 1]
        try:
            decoded = base64.b64decode(blob, validate=True)
        except binascii.Error:
            decoded = b""
        # the key names its own type first: a key pasted under another type's name is refused
        if decoded[:4] == len(kind).to_bytes(4, "big") and decoded[4 : 4 + len(kind)] == (
            kind.encode()
        ):
            return f"{kind} {blob}"
    raise InvalidCommand(
        "host_key must be the node's SSH host key as `ssh-keyscan HOST` prints it"
        " (ssh-ed25519 AAAA...), checked against the node itself",
        field="host_key",
    )


def _name_free(state: SwarmState, name: str) -> None:
    if any(n.hostname == name for n in state.nodes.values()):
        raise AlreadyExists(f"a server named {name!r} is in the swarm already", field="name")


def decide_change(state: SwarmState, ref: str, command: ChangeNode, change_id: str) -> list[Event]:
    """Raises NotFound (no such node) or InvalidCommand (nothing asked, too many labels)."""
    require_swarm(state)
    target = node(state, ref)
    if command.labels is None and command.availability is None:
        raise InvalidCommand("say what to change: labels, availability or both")
    if command.labels is not None and len(command.labels) > MAX_LABELS:
        raise InvalidCommand(f"a server carries at most {MAX_LABELS} labels", field="labels")
    same_labels = command.labels is None or dict(command.labels) == dict(target.labels)
    same_availability = command.availability in (None, target.availability)
    if same_labels and same_availability:
        return []
    return [
        SwarmNodeChangeRequested(
            change_id=change_id,
            node_id=target.node_id,
            labels=None if command.labels is None else dict(command.labels),
            availability=command.availability,
        )
    ]


def decide_remove(state: SwarmState, ref: str, command: RemoveNode, change_id: str) -> list[Event]:
    """Raises NotFound or InvalidCommand (the manager itself, or a node still up unless
    forced: the engine removes only a node that is down, or left the swarm)."""
    require_swarm(state)
    target = node(state, ref)
    if target.node_id == state.manager_node:
        raise InvalidCommand(
            "the manager is the machine Rivetr runs on: it cannot be removed from its own swarm"
        )
    if target.state == "ready" and not command.force:
        raise InvalidCommand(
            f"server {target.hostname} is up: drain it (its tasks move) and run `docker swarm"
            " leave` on it, then remove it; or remove it with force",
            field="force",
        )
    return [
        SwarmNodeChangeRequested(
            change_id=change_id, node_id=target.node_id, remove=True, force=command.force
        )
    ]


def observe(state: SwarmState, found: Sequence[ObservedNode]) -> list[Event]:
    """The facts the engine's node list adds to the log: nodes that joined (an invited one is
    matched by its host name), changed state, or were changed or removed outside Rivetr. A
    node with a change of Rivetr's under way is left to that change."""
    if not state.active:
        return []
    events: list[Event] = []
    seen = set()
    busy = {change.node_id for change in state.pending.values()}
    for now in found:
        seen.add(now.node_id)
        known = state.nodes.get(now.node_id)
        if known is None:
            if not now.hostname:
                continue  # a joining engine not heard from yet: recorded once it has said who
            events.append(_joined(now, invited=now.hostname in state.invited))
            if now.state != "ready":
                events.append(_state(now))
            continue
        if known.state != now.state:
            events.append(_state(now))
        if now.hostname and _described_fields(known) != _described_fields(now):
            events.append(_described(now))
        if now.node_id not in busy and (
            dict(known.labels) != dict(now.labels) or known.availability != now.availability
        ):
            events.append(
                SwarmNodeChanged(
                    node_id=now.node_id, labels=dict(now.labels), availability=now.availability
                )
            )
    events.extend(
        SwarmNodeRemoved(node_id=node_id)
        for node_id in state.nodes
        if node_id not in seen and node_id not in busy
    )
    return events


def _joined(now: ObservedNode, *, invited: bool) -> SwarmNodeJoined:
    return SwarmNodeJoined(
        node_id=now.node_id,
        hostname=now.hostname,
        role=now.role,
        address=now.address,
        availability=now.availability,
        cpus=now.cpus,
        memory_bytes=now.memory_bytes,
        engine_version=now.engine_version,
        leader=now.leader,
        labels=dict(now.labels),
        invited=invited,
    )


# what the engine says of a node that `swarm.node_described` records: one list, so the
# comparison, the event and the fold never disagree on it
DESCRIBED = ("hostname", "role", "address", "cpus", "memory_bytes", "engine_version", "leader")


def _described_fields(node: Node | ObservedNode | SwarmNodeDescribed) -> dict[str, Any]:
    return {name: getattr(node, name) for name in DESCRIBED}


def _described(now: ObservedNode) -> SwarmNodeDescribed:
    return SwarmNodeDescribed(node_id=now.node_id, **_described_fields(now))


def _state(now: ObservedNode) -> SwarmNodeStateChanged:
    return SwarmNodeStateChanged(node_id=now.node_id, state=now.state, message=now.message[:500])


def expired(state: SwarmState, now: datetime) -> list[Event]:
    """Invitations whose node never joined in time."""
    return [
        SwarmNodeJoinTimedOut(
            name=name,
            reason=f"no node called {name} joined the swarm by {invitation.expires_at}: run the"
            " join command on it (the manager's port 2377 must be reachable from it), or"
            " invite it again",
        )
        for name, invitation in state.invited.items()
        if datetime.fromisoformat(invitation.expires_at) <= now
    ]
