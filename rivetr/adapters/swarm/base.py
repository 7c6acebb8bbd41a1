"""The swarm port: an engine in Docker Swarm mode as Rivetr uses it. The manager is the engine
Rivetr runs beside; nodes join it; apps with replicas run as swarm services whose tasks publish
their port on their node (`mode=host`: the routing mesh is not used, Rivetr's proxy reaches each
task at its node's address).

Errors are the runtime port's: `EngineUnavailable` when the engine does not answer,
`ContainerError` when it refuses (its words kept)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

import msgspec

from rivetr.adapters.runtime.base import ContainerRuntime, EngineHealthcheck
from rivetr.adapters.runtime.container_spec import Mount

Role = Literal["manager", "worker"]
NodeState = Literal["ready", "down", "disconnected", "unknown"]
Availability = Literal["active", "pause", "drain"]
# a task's state as the engine words it (new, pending, assigned, preparing, starting, running,
# complete, failed, shutdown, rejected, orphaned, remove)
TaskState = str

SWARM_PORT = 2377  # where managers listen for nodes joining


class SwarmInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The swarm this engine belongs to, and its own node in it."""

    swarm_id: str
    node_id: str
    manager: bool  # only a manager can be asked to change the swarm
    advertise_addr: str  # the address nodes reach this one at


class JoinTokens(msgspec.Struct, frozen=True, kw_only=True):
    worker: str
    manager: str


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str
    hostname: str
    role: Role
    state: NodeState
    availability: Availability
    address: str  # the address tasks on it publish their ports at
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    cpus: float = 0.0
    memory_bytes: int = 0
    engine_version: str = ""
    leader: bool = False
    message: str = ""  # the engine's word on its state (why it is down)


class RegistryLogin(msgspec.Struct, frozen=True, kw_only=True):
    """A registry every server pulls from, and the account that may push and pull there
    (none: it takes anyone)."""

    address: str  # host[:port][/path], as image names start
    username: str = ""
    password: str = ""

    @property
    def host(self) -> str:
        """The registry itself, which an account signs in to."""
        return self.address.split("/", 1)[0]

    @property
    def signs_in(self) -> bool:
        return bool(self.username)


class RemoteEngine(msgspec.Struct, frozen=True, kw_only=True):
    """A node's own engine API, which Rivetr reaches to join the node to the swarm. Over TLS:
    `url` `tcp://host:2376`, the CA that signed the engine's certificate, and the client
    certificate and key the engine takes (`dockerd --tlsverify`), all PEM. Over SSH: `url`
    `ssh://user@host[:port]`, the private key that user signs in with (OpenSSH or PEM) and the
    node's host key (`TYPE BASE64`), the only one taken. Held for the call alone: never
    recorded, never logged."""

    url: str
    ca: str = ""
    cert: str = ""
    key: str = ""
    ssh_key: str = ""
    host_key: str = ""

    @property
    def over_ssh(self) -> bool:
        return self.url.startswith("ssh://")

    def __repr__(self) -> str:
        return f"RemoteEngine(url={self.url!r})"  # the key stays out of every traceback


class RemoteInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a node's engine says of itself before it joins."""

    hostname: str  # its node's name once joined
    swarm_state: str  # "inactive" unless it is in a swarm already (or joining, or locked)
    node_id: str = ""  # its node's in the swarm it is in


# pushes an image of the engine to a registry: (image, repository, tag, login) -> by digest
Push = Callable[[str, str, str, "RegistryLogin | None"], Awaitable[str]]


@dataclass(frozen=True)
class BuildEngine:
    """A node's engine, open for one build: `runtime` builds there, and the images it made
    are pushed from there (`push`, as `SwarmEngine.push_image`)."""

    runtime: ContainerRuntime
    push: Push


ServiceMode = Literal["replicated", "global"]


class ServiceSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One service: `replicas` tasks, or one on every node it may run on (`global`). `port`
    and `ports` are published on each task's node at a port the engine picks (host mode);
    `constraints` are the engine's (`node.labels.zone==eu`), `spread` the labels its tasks
    are spread over (`node.labels.zone`). The process's settings below the networks are a
    container's (`ContainerSpec`'s), as a stack's service asks them; an app's leave them."""

    name: str
    image: str
    replicas: int
    port: int | None
    ports: list[int] = msgspec.field(default_factory=list)  # more published container ports
    mode: ServiceMode = "replicated"
    max_per_node: int | None = None
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    constraints: list[str] = msgspec.field(default_factory=list)
    spread: list[str] = msgspec.field(default_factory=list)
    networks: list[str] = msgspec.field(default_factory=list)
    aliases: list[str] = msgspec.field(default_factory=list)  # its tasks' names on them
    memory_bytes: int | None = None
    nano_cpus: int | None = None
    registry_auth: RegistryLogin | None = None  # handed to the nodes to pull a private image
    command: list[str] | None = None
    entrypoint: list[str] | None = None  # None: the image's; []: none
    healthcheck: EngineHealthcheck | None = None  # a task runs once it passes
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    mounts: list[Mount] = msgspec.field(default_factory=list)
    extra_hosts: dict[str, str] = msgspec.field(default_factory=dict)
    dns: list[str] = msgspec.field(default_factory=list)
    dns_search: list[str] = msgspec.field(default_factory=list)
    group_add: list[str] = msgspec.field(default_factory=list)
    read_only: bool = False
    cap_drop: list[str] = msgspec.field(default_factory=list)
    sysctls: dict[str, str] = msgspec.field(default_factory=dict)
    stop_signal: str | None = None
    stop_grace_s: float | None = None

    @property
    def published(self) -> list[int]:
        """Every container port published on the tasks' nodes."""
        return ([self.port] if self.port is not None else []) + list(self.ports)


class RegistryCertificates(msgspec.Struct, frozen=True, kw_only=True):
    """What the registry Rivetr runs answers with (`cert`, `key`), and what every node's
    engine trusts it by (`ca`) and presents to it (`client_cert`, `client_key`); PEM each."""

    ca: str
    cert: str
    key: str
    client_cert: str
    client_key: str

    def __repr__(self) -> str:
        return "RegistryCertificates(...)"  # the keys stay out of every traceback


class HostedRegistrySpec(msgspec.Struct, frozen=True, kw_only=True):
    """The registry Rivetr runs for the servers: `image` (the distribution registry, laid out
    as `registry:2` is, with a shell) on the manager `node_id`, answering at `address`
    (`host:port`, the manager's address) with `certificates`."""

    address: str
    node_id: str
    image: str
    certificates: RegistryCertificates

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])


class TaskInfo(msgspec.Struct, frozen=True, kw_only=True):
    task_id: str
    service: str
    slot: int
    node_id: str
    desired: str  # what the engine wants of it: running, or shutdown
    state: TaskState
    message: str = ""  # the engine's error or status words for it
    address: str = ""  # its node's address; with `published_port`, where it answers
    published_ports: dict[int, int] = msgspec.field(default_factory=dict)  # container -> node

    @property
    def published_port(self) -> int | None:
        """Where its lowest published container port answers on its node (an app's one)."""
        return self.published_ports[min(self.published_ports)] if self.published_ports else None

    @property
    def running(self) -> bool:
        return self.desired == "running" and self.state == "running"


class SwarmEngine(Protocol):
    async def swarm(self) -> SwarmInfo | None:
        """The swarm this engine is in, or None."""
        ...

    async def init(self, advertise_addr: str) -> SwarmInfo:
        """Make this engine the manager of a new swarm, reached by nodes at `advertise_addr`."""
        ...

    async def leave(self) -> None:
        """Leave the swarm (forced: the last manager ends it)."""
        ...

    async def join_tokens(self) -> JoinTokens: ...

    async def nodes(self) -> list[NodeInfo]: ...

    async def update_node(
        self,
        node_id: str,
        *,
        labels: dict[str, str] | None = None,
        availability: Availability | None = None,
    ) -> NodeInfo:
        """Replace the node's labels and/or set its availability (drain moves its tasks)."""
        ...

    async def remove_node(self, node_id: str, *, force: bool = False) -> None:
        """Remove a node; one still up needs `force` (its engine is not told)."""
        ...

    async def describe_remote(self, remote: RemoteEngine) -> RemoteInfo:
        """Ask a node's engine, over TLS, for its host name and swarm state.

        Raises ContainerError: it refused, did not answer, or its certificate was not
        the CA's (the words say which)."""
        ...

    async def join_remote(self, remote: RemoteEngine, token: str, manager_addr: str) -> None:
        """Have a node's engine, over TLS, join the swarm whose manager is at `manager_addr`
        (`address:2377`) with `token`; returns once the engine says it joined.

        Raises ContainerError, as `describe_remote`."""
        ...

    async def create_network(self, name: str, labels: dict[str, str]) -> None:
        """An attachable overlay network (kept if it exists)."""
        ...

    async def push_image(
        self, image: str, repository: str, tag: str, login: RegistryLogin | None = None
    ) -> str:
        """Tag the local `image` as `repository:tag` and push it there (as `login`'s account,
        when it signs in); returns the pushed image by digest (`repository@sha256:...`), what
        every node pulls. A registry that refuses (or cannot be reached) is a
        `ContainerError` in its words."""
        ...

    async def check_login(self, login: RegistryLogin) -> None:
        """Sign in to the registry as `login` says; a refusal is a `ContainerError` in the
        registry's words."""
        ...

    async def create_service(self, spec: ServiceSpec) -> str:
        """Create the service; returns its id."""
        ...

    async def services(self, labels: dict[str, str]) -> list[str]:
        """The names of the services carrying all these labels."""
        ...

    async def service_labels(self, name: str) -> dict[str, str] | None:
        """A service's labels, or None when there is no such service."""
        ...

    async def tasks(self, service: str) -> list[TaskInfo]:
        """The service's tasks (none when it does not exist), with where each answers."""
        ...

    async def remove_service(self, name: str) -> None:
        """Remove it (gone already is fine); its tasks stop after this returns."""
        ...

    async def service_logs(self, name: str, tail: int = 100) -> str:
        """The last `tail` lines of stdout and stderr of each of its tasks, wherever they run,
        as the engine gathers them. No such service is a `ContainerError`."""
        ...

    async def run_registry(self, spec: HostedRegistrySpec, timeout: float) -> None:
        """Run the registry on its node and, on every node, a task that puts its CA and the
        client certificate where that node's engine looks for them
        (`/etc/docker/certs.d/ADDRESS/`); one of an earlier run is replaced. Returns once the
        registry answers over TLS both ways and every ready, active node holds them.

        Raises ContainerError: the engine refused, or the registry or a node's task was not
        up in `timeout` seconds (the words say which, and why)."""
        ...

    async def stop_registry(self) -> None:
        """Stop the registry and the nodes' tasks (each takes away what it put there); its
        storage, volume `rivetr-registry` on its node, is kept. None running is fine."""
        ...

    async def registry_running(self) -> bool:
        """Whether the registry's service is there (whatever its tasks' state)."""
        ...

    def build_engine(self, remote: RemoteEngine) -> AbstractAsyncContextManager[BuildEngine]:
        """A node's engine reached as a join reaches it, open while the context is.

        Raises ContainerError on entry: it refused or did not answer (as `describe_remote`)."""
        ...
