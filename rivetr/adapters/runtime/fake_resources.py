"""The in-memory twin's volumes, networks and health checks (part of `FakeRuntime`).

A volume is a dict of file paths to contents that tests read and write through
`volume_files`; a network knows which containers are on it and by which names; a health check
runs its test command through the twin's exec table each time it is asked about, as Podman does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from rivetr.adapters.runtime.base import ContainerError, ContainerSpec, Health, VolumeInfo
from rivetr.adapters.runtime.fake_container import FakeContainer
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer


class FakeVolume:
    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.files: dict[str, bytes] = {}  # path inside the volume -> content


class FakeResources:
    """Volumes, networks and health of `FakeRuntime` (which provides the attributes below)."""

    images: dict[str, str]
    _containers: dict[str, FakeContainer]
    _check: Callable[[], None]
    _get: Callable[[str], FakeContainer]
    _image: Callable[[str], str | None]
    _answer: Callable[..., FakeExecAnswer]
    _free_ports: Iterator[int]

    def __init__(self) -> None:
        self.volumes: dict[str, FakeVolume] = {}
        self.networks: dict[str, dict[str, str]] = {}  # name -> labels

    # -- test controls -------------------------------------------------------------------

    def volume_files(self, name: str) -> dict[str, bytes]:
        """The files of volume `name` (path -> content), to read or change in place."""
        return self.volumes[name].files

    def attached(self, container: str) -> dict[str, list[str]]:
        """The networks `container` is on, each with its aliases there."""
        return dict(self._get(container).networks)

    def peers(self, container: str) -> set[str]:
        """The names (container names and aliases) `container` resolves on its networks."""
        own = self._get(container)
        names: set[str] = set()
        for other in self._containers.values():
            for network, aliases in other.networks.items():
                if network in own.networks and other.state == "running":
                    names.update([other.spec.name, *aliases])
        return names

    # -- the port ------------------------------------------------------------------------

    async def create_volume(self, name: str, labels: dict[str, str]) -> VolumeInfo:
        self._check()
        volume = self.volumes.setdefault(name, FakeVolume(dict(labels)))
        return VolumeInfo(name=name, labels=dict(volume.labels))

    async def volume_exists(self, name: str) -> bool:
        self._check()
        return name in self.volumes

    async def remove_volume(self, name: str) -> None:
        self._check()
        if name not in self.volumes:
            return
        users = [c for c in self._containers.values() if name in _volumes(c.spec)]
        if users:
            raise ContainerError(f"remove volume {name}: volume is in use - [{users[0].id}]")
        del self.volumes[name]

    async def list_volumes(self, labels: dict[str, str]) -> list[VolumeInfo]:
        self._check()
        return [
            VolumeInfo(name=name, labels=dict(volume.labels))
            for name, volume in sorted(self.volumes.items())
            if all(volume.labels.get(key) == value for key, value in labels.items())
        ]

    async def copy_volume(self, source: str, target: str, image: str) -> None:
        self._check()
        if source not in self.volumes:
            raise ContainerError(f"copy volume {source}: no such volume")
        if self._image(image) is None:
            raise ContainerError(f"copy volume {source} to {target}: no such image: {image}")
        files = self.volumes.setdefault(target, FakeVolume({})).files
        files.update(self.volumes[source].files)

    async def create_network(self, name: str, labels: dict[str, str]) -> None:
        self._check()
        self.networks.setdefault(name, dict(labels))

    async def list_networks(self, labels: dict[str, str]) -> list[str]:
        self._check()
        return sorted(
            name
            for name, own in self.networks.items()
            if all(own.get(k) == v for k, v in labels.items())
        )

    async def remove_network(self, name: str) -> None:
        self._check()
        if name not in self.networks:
            return
        if any(name in c.networks for c in self._containers.values() if c.state == "running"):
            raise ContainerError(f"remove network {name}: network has active endpoints")
        del self.networks[name]
        for container in self._containers.values():
            container.networks.pop(name, None)

    async def connect_network(self, container: str, network: str, aliases: list[str]) -> None:
        self._check()
        found = self._get(container)
        if network not in self.networks:
            raise ContainerError(f"connect {container} to {network}: network not found")
        if network in found.networks:  # as Docker says it
            raise ContainerError(
                f"connect {container} to {network}: endpoint with name {found.spec.name}"
                f" already exists in network {network}"
            )
        found.networks[network] = [*found.networks.get(network, []), *aliases]

    async def container_health(self, name_or_id: str) -> Health | None:
        self._check()
        container = self._get(name_or_id)
        check = container.spec.healthcheck
        if check is None:
            return None
        if container.state != "running":
            return container.health
        # as the engines run it: with the container's environment, a shell line under sh -c
        argv = ["sh", "-c", *check.test] if check.shell else check.test
        answer = self._answer(container, argv, b"", container.spec.env)
        now = time.monotonic()
        if answer.exit_code == 0:
            container.health, container.failing, container.failed_at = "healthy", 0, None
        elif now - container.started_at < check.start_period_s:
            pass  # failures in the start period do not count
        elif container.failed_at is None or now - container.failed_at >= check.interval_s:
            # one failure an interval at most, as the engines check: a caller asking more
            # often does not spend the retries sooner
            container.failing += 1
            container.failed_at = now
            if container.failing >= check.retries:
                container.health = "unhealthy"
        return container.health

    # -- plumbing ------------------------------------------------------------------------

    def _attach(self, spec: ContainerSpec) -> dict[str, list[str]]:
        """Mount `spec`'s volumes (made when missing, as engines do) and return its networks,
        each with its aliases there.

        Raises:
            ContainerError: `spec` names a network that does not exist.
        """
        networks = dict(spec.extra_networks)
        if spec.network is not None:
            networks[spec.network] = list(spec.aliases)
        for network in networks:
            if network not in self.networks:
                raise ContainerError(f"run {spec.name}: network {network} not found")
        for volume in _volumes(spec):
            self.volumes.setdefault(volume, FakeVolume({}))
        return networks

    def _publish(self, spec: ContainerSpec) -> tuple[dict[int, int], set[tuple[str, int]]]:
        """The host ports of `spec`: its TCP ones by container port (the first, when one is
        published twice), and every (protocol, host port) it holds.

        Raises:
            ContainerError: a fixed host port is held by a running container.
        """
        taken = {each for c in self._containers.values() for each in c.bound}
        host_ports: dict[int, int] = {}
        bound: set[tuple[str, int]] = set()
        wanted = [(port, host, "tcp", spec.bind_address) for port, host in spec.ports.items()]
        wanted += [(p.target, p.published, p.protocol, p.host_ip) for p in spec.published]
        for port, host, protocol, address in wanted:
            if host is not None and (protocol, host) in taken | bound:
                raise ContainerError(f"run {spec.name}: port {address}:{host} already in use")
            chosen = host if host is not None else next(self._free_ports)
            bound.add((protocol, chosen))
            if protocol == "tcp":
                host_ports.setdefault(port, chosen)
        return host_ports, bound


def _volumes(spec: ContainerSpec) -> list[str]:
    """The named volumes `spec` mounts."""
    return [*spec.volumes, *(m.source for m in spec.mounts if m.type == "volume")]
