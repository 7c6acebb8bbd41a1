"""The facts of the instance's servers (stream "swarm"): the local engine made a swarm manager,
nodes invited, joined, changed (labels, availability), gone down and back, removed, and what
failed. Servers are the instance's, not a team's: an instance administrator changes them; a
team's apps only name the labels they want to be placed by."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.settings import whole

STREAM = "swarm"
NodeRole = Literal["manager", "worker"]
NodeState = Literal["ready", "down", "disconnected", "unknown"]
Availability = Literal["active", "pause", "drain"]
SwarmOperation = Literal["init", "change", "remove", "registry"]
Bytes = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
Cpus = Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
# a node label: the engine's key syntax, kept to what a constraint can name plainly
LabelKey = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?"),
        description="letters, digits, dots, hyphens and underscores; 1 to 128 characters",
    ),
]
LabelValue = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(r"[A-Za-z0-9._:/@+-]{0,256}"),
        description="letters, digits and . _ : / @ + -; at most 256 characters",
    ),
]
# a node's name as its engine reports it (its host name)
NodeName = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?"),
        description="a host name: letters, digits, dots, hyphens and underscores",
    ),
]
# where the servers pull images from, as an image name starts: a host name or address, a port
# perhaps, and the path of names the images go under if any (`registry.example.com/team`,
# `10.0.0.1:5000`); no scheme
RegistryAddress = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?"
            r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*){0,8}"
        ),
        max_length=512,
        description="a registry's host name or address, its port if not 443, and a path of"
        " lower-case names its images go under, if any: no scheme",
    ),
]
# an account's name: printable, no space and no colon (basic auth's separator)
RegistryUser = Annotated[
    str,
    msgspec.Meta(
        max_length=255,
        pattern=whole(r"[!-9;-~]*"),
        description="printable characters, no space and no colon",
    ),
]
# a node's engine API as Rivetr reaches it to join the node: TCP with TLS both ways (Docker's
# `--tlsverify`, port 2376 by convention), or its socket through SSH (as `docker -H ssh://`);
# a host name, an IPv4 address or a bracketed IPv6 one
_ENGINE_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])"
EngineUrl = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            rf"tcp://{_ENGINE_HOST}:[0-9]{{1,5}}"
            rf"|ssh://(?:[a-z_][a-z0-9_.-]{{0,31}}@)?{_ENGINE_HOST}(?::[0-9]{{1,5}})?"
        ),
        max_length=300,
        description=(
            "tcp://HOST:PORT, the node's engine API with TLS (port 2376 by convention), or"
            " ssh://USER@HOST[:PORT], its engine's socket through SSH"
        ),
    ),
]
Labels = dict[LabelKey, LabelValue]
# labels as the engine lists them: it takes keys and values Rivetr's commands do not (a slash,
# a space), set on the node by hand; recorded as they are, bounded in size only
FoundLabels = dict[
    Annotated[str, msgspec.Meta(max_length=1024)], Annotated[str, msgspec.Meta(max_length=4096)]
]


class SwarmInitRequested(Event, frozen=True, kw_only=True, tag="swarm.init_requested"):
    advertise_addr: str


class SwarmInitialised(Event, frozen=True, kw_only=True, tag="swarm.initialised"):
    """The local engine manages a swarm (`swarm_id`), as node `node_id`, reached at
    `advertise_addr`. Also recorded when Rivetr finds its engine already managing one."""

    swarm_id: str
    node_id: str
    hostname: str
    advertise_addr: str


class SwarmNodeInvited(Event, frozen=True, kw_only=True, tag="swarm.node_invited"):
    """A join command was handed out for a node that calls itself `name`; it is waited for
    until `expires_at` (ISO 8601, UTC). The token itself is never recorded."""

    name: NodeName
    role: NodeRole = "worker"
    expires_at: str
    engine: str | None = None  # the engine API Rivetr joined it through (None: the command)


class SwarmNodeJoinFailed(Event, frozen=True, kw_only=True, tag="swarm.node_join_failed"):
    """Rivetr could not join the node `name` through its engine API `engine`: the engine's (or
    the connection's) words. Its invitation ends here."""

    name: NodeName
    engine: str
    reason: str


class SwarmNodeJoined(Event, frozen=True, kw_only=True, tag="swarm.node_joined"):
    node_id: str
    hostname: str
    role: NodeRole
    address: str
    availability: Availability = "active"
    cpus: Cpus = 0.0
    memory_bytes: Bytes = 0
    engine_version: str = ""
    leader: bool = False  # the manager that leads the swarm's managers
    labels: FoundLabels = msgspec.field(default_factory=dict)
    invited: bool = False  # a node Rivetr handed a join command to (else it joined by itself)


class SwarmNodeDescribed(Event, frozen=True, kw_only=True, tag="swarm.node_described"):
    """What the engine says a known node is changed: its host name (empty until a joining
    engine first reports), role, address, resources or engine version."""

    node_id: str
    hostname: str
    role: NodeRole
    address: str
    cpus: Cpus = 0.0
    memory_bytes: Bytes = 0
    engine_version: str = ""
    leader: bool = False


class SwarmNodeJoinTimedOut(Event, frozen=True, kw_only=True, tag="swarm.node_join_timed_out"):
    name: NodeName
    reason: str


class SwarmNodeChangeRequested(Event, frozen=True, kw_only=True, tag="swarm.node_change_requested"):
    """Set a node's labels (all of them) and/or its availability, or (`remove`) remove it."""

    change_id: str
    node_id: str
    labels: Labels | None = None
    availability: Availability | None = None
    remove: bool = False
    force: bool = False


class SwarmNodeChanged(Event, frozen=True, kw_only=True, tag="swarm.node_changed"):
    """The node's labels and availability now: as asked (`change_id`), or as found changed
    outside Rivetr (no `change_id`)."""

    node_id: str
    labels: FoundLabels = msgspec.field(default_factory=dict)
    availability: Availability = "active"
    change_id: str | None = None


class SwarmNodeRemoved(Event, frozen=True, kw_only=True, tag="swarm.node_removed"):
    node_id: str
    change_id: str | None = None  # none: found gone (removed outside Rivetr)


class SwarmNodeStateChanged(Event, frozen=True, kw_only=True, tag="swarm.node_state_changed"):
    """The engine's word on a node changed (`down` when a node stops answering)."""

    node_id: str
    state: NodeState
    message: str = ""


class SwarmOperationFailed(Event, frozen=True, kw_only=True, tag="swarm.operation_failed"):
    operation: SwarmOperation
    reason: str
    change_id: str | None = None
    node_id: str | None = None


class SwarmOrphanRemoved(Event, frozen=True, kw_only=True, tag="swarm.orphan_removed"):
    """A swarm service of a release that is over (failed, or interrupted by a restart) was
    found running and removed: its copies stopped on their servers."""

    service_name: str
    deployment_id: str


class SwarmRegistrySet(Event, frozen=True, kw_only=True, tag="swarm.registry_set"):
    """Images for the servers are pushed to `address` and pulled from there, as `username`
    (sealed `password`) when the registry wants an account. Checked against the registry
    before it was recorded."""

    address: RegistryAddress
    username: RegistryUser = ""
    password: str | None = None  # sealed


class SwarmRegistryCleared(Event, frozen=True, kw_only=True, tag="swarm.registry_cleared"):
    """The registry set before is forgotten (and its account with it)."""


class SwarmRegistryHosted(Event, frozen=True, kw_only=True, tag="swarm.registry_hosted"):
    """Rivetr runs the servers' registry itself, on the manager, at `address` (the manager's
    address and the port it answers at), from `image`; it answered before this was recorded.
    A CA made for it alone signed its certificate (`cert`) and the one client certificate
    every node's engine presents to it (`client_cert`): it takes no other client, so it needs
    no account. Certificates in PEM; the keys sealed; the CA's own key was never kept."""

    address: str
    image: str
    ca: str
    cert: str
    key: str  # sealed
    client_cert: str
    client_key: str  # sealed


class SwarmRegistryStopped(Event, frozen=True, kw_only=True, tag="swarm.registry_stopped"):
    """The registry Rivetr ran at `address` is stopped and the nodes no longer hold its
    certificates; the images it stored stay in its volume on the manager."""

    address: str


class SwarmBuildNodeSet(Event, frozen=True, kw_only=True, tag="swarm.build_node_set"):
    """The images of apps on servers are built on node `node_id` (`hostname`), whose engine
    Rivetr reaches at `engine` as it would to join it: over TLS with the CA (`ca`) that signed
    the engine's certificate and a client certificate (`cert`, sealed `key`), or through SSH
    with a private key (sealed `ssh_key`) and the node's host key. They are pushed from there.
    The engine answered as that node of this swarm before this was recorded."""

    engine: str
    node_id: str
    hostname: str
    ca: str = ""
    cert: str = ""
    key: str = ""  # sealed, when given
    ssh_key: str = ""  # sealed, when given
    host_key: str = ""


class SwarmBuildNodeCleared(Event, frozen=True, kw_only=True, tag="swarm.build_node_cleared"):
    """Images are built on the manager again."""
