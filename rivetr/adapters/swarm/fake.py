"""`FakeSwarm`: the swarm port's in-memory twin. Nodes join, go down and come back when a test
says so (`join`, `set_state`); services' tasks are placed at once on the nodes that may take
them (ready, active, every constraint met), one replica at a time round the nodes, and a task
whose node goes down or is drained is shut down and placed again elsewhere, as the engine
does. A task runs at once unless its image is one `unpullable` names."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import msgspec

from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime
from rivetr.adapters.swarm.base import (
    Availability,
    BuildEngine,
    HostedRegistrySpec,
    JoinTokens,
    NodeInfo,
    NodeState,
    RegistryLogin,
    RemoteEngine,
    RemoteInfo,
    Role,
    ServiceSpec,
    SwarmInfo,
    TaskInfo,
)
from rivetr.adapters.swarm.ssh_tunnel import SshTarget

NO_NODE = "no suitable node"  # the engine's words for a placement nothing satisfies


class FakeSwarm:
    def __init__(
        self,
        *,
        hostname: str = "manager",
        address: str = "10.0.0.1",
        networks: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.hostname = hostname
        self.address = address
        self.info: SwarmInfo | None = None
        self.node_list: dict[str, NodeInfo] = {}
        self.specs: dict[str, ServiceSpec] = {}
        self.task_list: dict[str, list[TaskInfo]] = {}
        # name -> labels; given a runtime twin's, the manager's engine sees the overlays too
        self.networks: dict[str, dict[str, str]] = {} if networks is None else networks
        self.unpullable: set[str] = set()  # images no node can pull ("*": every one)
        self.registry_refusal: str | None = None  # what a push is answered while set
        self.pushed: dict[str, str] = {}  # repository:tag -> the image pushed there
        # registry address -> the (username, password) it takes; anyone is refused there
        self.accounts: dict[str, tuple[str, str]] = {}
        # the engines of machines a test made reachable (over TLS or SSH): url -> their host name
        self.remotes: dict[str, str] = {}
        # an engine reached over SSH: its node's host key, and the private key it takes
        self.ssh_nodes: dict[str, tuple[str, str]] = {}
        self.join_refusal: str | None = None  # what a remote engine answers a join while set
        self.hosted: HostedRegistrySpec | None = None  # the registry run on the manager
        self.stopped_registries: set[str] = set()  # addresses of hosted ones since stopped
        # the engines of nodes a test lets build: url -> a runtime twin standing for each
        self.build_runtimes: dict[str, ContainerRuntime] = {}
        self.said: dict[str, str] = {}  # service -> what its tasks wrote, for its logs
        self._ports = itertools.count(30000)
        self._turn = itertools.count()

    # -- what a test does to the twin -----------------------------------------------------

    def join(
        self,
        hostname: str,
        address: str,
        *,
        role: Role = "worker",
        labels: dict[str, str] | None = None,
    ) -> NodeInfo:
        self._in_swarm()
        node = NodeInfo(
            node_id=secrets.token_hex(12),
            hostname=hostname,
            role=role,
            state="ready",
            availability="active",
            address=address,
            labels=dict(labels or {}),
            cpus=2.0,
            memory_bytes=2 << 30,
            engine_version="fake",
        )
        self.node_list[node.node_id] = node
        self._place_pending()
        return node

    def set_state(self, node_id: str, state: NodeState) -> None:
        self._replace_node(msgspec.structs.replace(self.node_list[node_id], state=state))

    # -- the port -------------------------------------------------------------------------

    async def swarm(self) -> SwarmInfo | None:
        return self.info

    async def init(self, advertise_addr: str) -> SwarmInfo:
        if self.info is not None:
            raise ContainerError(
                'make a swarm: This node is already part of a swarm. Use "docker swarm leave"'
                " to leave this swarm and join another one."
            )
        node_id = secrets.token_hex(12)
        self.info = SwarmInfo(
            swarm_id=secrets.token_hex(12),
            node_id=node_id,
            manager=True,
            advertise_addr=advertise_addr,
        )
        self.node_list[node_id] = NodeInfo(
            node_id=node_id,
            hostname=self.hostname,
            role="manager",
            state="ready",
            availability="active",
            address=advertise_addr,
            cpus=2.0,
            memory_bytes=4 << 30,
            engine_version="fake",
            leader=True,
        )
        return self.info

    async def leave(self) -> None:
        self._in_swarm()
        self.info = None
        self.node_list.clear()
        self.specs.clear()
        self.task_list.clear()

    async def join_tokens(self) -> JoinTokens:
        info = self._in_swarm()
        return JoinTokens(
            worker=f"SWMTKN-1-{info.swarm_id}-worker", manager=f"SWMTKN-1-{info.swarm_id}-manager"
        )

    async def nodes(self) -> list[NodeInfo]:
        self._in_swarm()
        return list(self.node_list.values())

    async def update_node(
        self,
        node_id: str,
        *,
        labels: dict[str, str] | None = None,
        availability: Availability | None = None,
    ) -> NodeInfo:
        node = self._node(node_id)
        if labels is not None:
            node = msgspec.structs.replace(node, labels=dict(labels))
        if availability is not None:
            node = msgspec.structs.replace(node, availability=availability)
        self._replace_node(node)
        return node

    async def remove_node(self, node_id: str, *, force: bool = False) -> None:
        node = self._node(node_id)
        if node.role == "manager":
            raise ContainerError(
                f"remove node {node_id}: rpc error: code = FailedPrecondition desc = node"
                f" {node_id} is a cluster manager and is a member of the raft cluster."
            )
        if node.state == "ready" and not force:
            raise ContainerError(
                f"remove node {node_id}: rpc error: code = FailedPrecondition desc = node"
                f" {node_id} is not down and can't be removed"
            )
        del self.node_list[node_id]
        self._reschedule(lambda task: task.node_id == node_id)

    async def describe_remote(self, remote: RemoteEngine) -> RemoteInfo:
        hostname = self._remote(remote, "read the engine")
        joined = [n.node_id for n in self.node_list.values() if n.hostname == hostname]
        return RemoteInfo(
            hostname=hostname,
            swarm_state="active" if joined else "inactive",
            node_id=joined[0] if joined else "",
        )

    async def join_remote(self, remote: RemoteEngine, token: str, manager_addr: str) -> None:
        action = f"join the swarm at {manager_addr}"
        hostname = self._remote(remote, action)
        tokens = await self.join_tokens()
        if self.join_refusal is not None:
            raise ContainerError(f"{action} at {remote.url}: {self.join_refusal}")
        if token not in (tokens.worker, tokens.manager):
            raise ContainerError(f"{action} at {remote.url}: invalid join token")
        role: Role = "manager" if token == tokens.manager else "worker"
        self.join(hostname, urllib.parse.urlsplit(remote.url).hostname or "", role=role)

    def _remote(self, remote: RemoteEngine, action: str) -> str:
        """The host name of a reachable remote engine, as the real one fails otherwise."""
        if remote.over_ssh:
            return self._through_ssh(remote, action)
        if remote.url not in self.remotes:
            raise ContainerError(
                f"{action}: the engine at {remote.url} did not answer over TLS: connection refused"
            )
        if "PRIVATE KEY" not in remote.key or "CERTIFICATE" not in remote.cert:
            raise ContainerError(f"{action} at {remote.url}: [SSL] PEM lib")
        return self.remotes[remote.url]

    def _through_ssh(self, remote: RemoteEngine, action: str) -> str:
        target = SshTarget.of(remote.url)
        refused = f"{action}: the node at {remote.url} refused SSH"
        if remote.url not in self.remotes:
            raise ContainerError(
                f"{refused}: ssh: connect to host {target.host} port {target.port}:"
                " Connection refused"
            )
        host_key, taken = self.ssh_nodes.get(remote.url, ("", ""))
        if remote.host_key != host_key:
            raise ContainerError(
                f"{refused}: its host key is not the one given (Host key verification failed.)"
            )
        if remote.ssh_key.split() != taken.split():  # line ends aside, as OpenSSH reads it
            raise ContainerError(
                f"{refused}: {target.user}@{target.host}: Permission denied (publickey)."
            )
        return self.remotes[remote.url]

    async def create_network(self, name: str, labels: dict[str, str]) -> None:
        self._in_swarm()
        self.networks.setdefault(name, dict(labels))

    async def push_image(
        self, image: str, repository: str, tag: str, login: RegistryLogin | None = None
    ) -> str:
        if self.registry_refusal is not None:
            raise ContainerError(f"push {repository}:{tag}: {self.registry_refusal}")
        host = repository.split("/", 1)[0]
        if host in self.stopped_registries and (self.hosted is None or self.hosted.address != host):
            raise ContainerError(
                f"push {repository}:{tag}: Get https://{host}/v2/: dial tcp {host}: connect:"
                " connection refused"
            )
        if not self._admits(repository, login):
            raise ContainerError(f"push {repository}:{tag}: no basic auth credentials")
        self.pushed[f"{repository}:{tag}"] = image
        return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"

    async def check_login(self, login: RegistryLogin) -> None:
        if not self._admits(login.address, login):
            raise ContainerError(
                f"sign in to {login.host} as {login.username}: login attempt to"
                f" http://{login.host}/v2/ failed with status: 401 Unauthorized"
            )

    def _admits(self, reference: str, login: RegistryLogin | None) -> bool:
        """Whether the registry `reference` names takes `login` (or anyone)."""
        account = self.accounts.get(reference.split("/", 1)[0])
        if account is None:
            return True
        return login is not None and (login.username, login.password) == account

    async def create_service(self, spec: ServiceSpec) -> str:
        self._in_swarm()
        if spec.name in self.specs:
            raise ContainerError(
                f"create service {spec.name}: name conflicts with an existing object"
            )
        self.specs[spec.name] = spec
        if spec.mode == "global":  # one task on each node it may run on, as the engine places
            self.task_list[spec.name] = [
                self._task(spec, slot, node)
                for slot, node in enumerate(self._eligible(spec), start=1)
            ]
        else:
            self.task_list[spec.name] = [
                self._task(spec, slot) for slot in range(1, spec.replicas + 1)
            ]
        return spec.name

    async def services(self, labels: dict[str, str]) -> list[str]:
        return sorted(
            name
            for name, spec in self.specs.items()
            if all(spec.labels.get(k) == v for k, v in labels.items())
        )

    async def service_labels(self, name: str) -> dict[str, str] | None:
        spec = self.specs.get(name)
        return dict(spec.labels) if spec else None

    async def tasks(self, service: str) -> list[TaskInfo]:
        return list(self.task_list.get(service, []))

    async def remove_service(self, name: str) -> None:
        self.specs.pop(name, None)
        self.task_list.pop(name, None)

    async def service_logs(self, name: str, tail: int = 100) -> str:
        if name not in self.specs:
            raise ContainerError(f"logs of service {name}: service {name} not found")
        lines = self.said.get(name, "").splitlines(keepends=True)
        return "".join(lines[-tail:] if tail >= 0 else lines)

    async def run_registry(self, spec: HostedRegistrySpec, timeout: float) -> None:
        self._in_swarm()
        await self.stop_registry()
        if spec.image in self.unpullable or "*" in self.unpullable:
            raise ContainerError(
                f"the registry was not up in {timeout:.0f} s, waiting for the registry on its"
                f" node (rejected; No such image: {spec.image})"
            )
        self.hosted = spec

    async def stop_registry(self) -> None:
        if self.hosted is not None:
            self.stopped_registries.add(self.hosted.address)
        self.hosted = None

    async def registry_running(self) -> bool:
        return self.hosted is not None

    @asynccontextmanager
    async def build_engine(self, remote: RemoteEngine) -> AsyncIterator[BuildEngine]:
        self._remote(remote, "reach the build node")
        runtime = self.build_runtimes[remote.url]  # a test that lets a node build gives one

        async def push(
            image: str, repository: str, tag: str, login: RegistryLogin | None = None
        ) -> str:
            if not await runtime.image_exists(image):  # what is pushed is that engine's own
                raise ContainerError(
                    f"push {repository}:{tag}: An image does not exist locally with the tag:"
                    f" {image}"
                )
            return await self.push_image(image, repository, tag, login)

        yield BuildEngine(runtime=runtime, push=push)

    # -- placing tasks ---------------------------------------------------------------------

    def _in_swarm(self) -> SwarmInfo:
        if self.info is None:
            raise ContainerError(
                'This node is not a swarm manager. Use "docker swarm init" or "docker swarm'
                ' join" to connect this node to swarm and try again.'
            )
        return self.info

    def _node(self, node_id: str) -> NodeInfo:
        self._in_swarm()
        node = self.node_list.get(node_id)
        if node is None:
            raise ContainerError(f"change node {node_id}: node {node_id} not found")
        return node

    def _replace_node(self, node: NodeInfo) -> None:
        self.node_list[node.node_id] = node
        if node.state != "ready" or node.availability == "drain":
            self._reschedule(lambda task: task.node_id == node.node_id)
        self._place_pending()

    def _eligible(self, spec: ServiceSpec) -> list[NodeInfo]:
        return [
            node
            for node in self.node_list.values()
            if node.state == "ready"
            and node.availability == "active"
            and all(_satisfies(node, constraint) for constraint in spec.constraints)
        ]

    def _task(self, spec: ServiceSpec, slot: int, on: NodeInfo | None = None) -> TaskInfo:
        nodes = [on] if on is not None else self._eligible(spec)
        task_id = secrets.token_hex(12)
        if not nodes:
            return TaskInfo(
                task_id=task_id,
                service=spec.name,
                slot=slot,
                node_id="",
                desired="running",
                state="pending",
                message=f"{NO_NODE} (scheduling constraints not satisfied on"
                f" {len(self.node_list)} nodes)",
            )
        node = nodes[next(self._turn) % len(nodes)]
        refused = None
        if spec.image in self.unpullable or "*" in self.unpullable:
            refused = f"No such image: {spec.image}"
        elif not self._admits(spec.image, spec.registry_auth):
            refused = f"No such image: {spec.image}: no basic auth credentials"
        published = {port: next(self._ports) for port in spec.published}
        if refused is not None:
            return TaskInfo(
                task_id=task_id,
                service=spec.name,
                slot=slot,
                node_id=node.node_id,
                desired="shutdown",
                state="rejected",
                message=refused,
                address=node.address,
            )
        return TaskInfo(
            task_id=task_id,
            service=spec.name,
            slot=slot,
            node_id=node.node_id,
            desired="running",
            state="running",
            address=node.address,
            published_ports=published,
        )

    def _reschedule(self, moved: Callable[[TaskInfo], bool]) -> None:
        """Shut down the running tasks `moved` picks and place each slot again."""
        for name, tasks in self.task_list.items():
            spec = self.specs[name]
            kept: list[TaskInfo] = []
            for task in tasks:
                if task.desired == "running" and moved(task):
                    kept.append(msgspec.structs.replace(task, desired="shutdown", state="shutdown"))
                    if spec.mode != "global":  # a global task stays with its node
                        kept.append(self._task(spec, task.slot))
                else:
                    kept.append(task)
            self.task_list[name] = kept

    def _place_pending(self) -> None:
        self._reschedule(lambda task: task.state == "pending")


def _satisfies(node: NodeInfo, constraint: str) -> bool:
    """The engine's constraint forms Rivetr writes: `node.labels.K==V`, `!=`, and
    `node.role`/`node.hostname`/`node.id` compared the same way."""
    negated = "!=" in constraint
    key, _, value = constraint.partition("!=" if negated else "==")
    key, value = key.strip(), value.strip()
    if key.startswith("node.labels."):
        have = node.labels.get(key.removeprefix("node.labels."))
    else:
        have = {
            "node.role": node.role,
            "node.hostname": node.hostname,
            "node.id": node.node_id,
        }.get(key)
    return (have != value) if negated else (have == value)
