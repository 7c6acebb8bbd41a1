"""What the runtime must ask Podman before it sends a create request, so that the container runs
as it would on Docker: the limits Podman gives a container that asks for none, the name servers
of the networks it joins (see `EngineDefaults` in `docker_create`), and whether a fixed host
port it asks for is another container's already."""

from __future__ import annotations

import uuid
from typing import Any

import docker  # type: ignore[import-untyped]

from rivetr.adapters.runtime.base import ContainerError
from rivetr.adapters.runtime.container_spec import ContainerSpec
from rivetr.adapters.runtime.docker_create import EngineDefaults

PROBE_PREFIX = "rivetr-probe-"  # a container made (never started) only to be inspected


def podman_defaults(
    client: docker.DockerClient, spec: ContainerSpec, ulimits: dict[str, tuple[int, int]]
) -> EngineDefaults:
    """What `spec`'s create request needs from Podman, `ulimits` being its default limits
    (`default_ulimits`, asked once by the caller)."""
    networks = [n for n in [spec.network, *spec.extra_networks] if n is not None]
    return EngineDefaults(
        ulimits=ulimits,
        name_servers=network_name_servers(client, networks) if spec.dns else [],
    )


def default_ulimits(client: docker.DockerClient, image: str) -> dict[str, tuple[int, int]]:
    """The limits Podman gives a container that asks for none (containers.conf's
    `default_ulimits`), by name (`nofile`): read off a container made for it and removed."""
    name = f"{PROBE_PREFIX}{uuid.uuid4().hex[:12]}"
    created = client.api.create_container(image, ["true"], name=name)
    try:
        attrs: dict[str, Any] = client.api.inspect_container(created["Id"])
    finally:
        client.api.remove_container(created["Id"], force=True)
    limits = (attrs.get("HostConfig") or {}).get("Ulimits") or []
    return {
        str(limit["Name"]).lower().removeprefix("rlimit_"): (int(limit["Soft"]), int(limit["Hard"]))
        for limit in limits
    }


def network_name_servers(client: docker.DockerClient, networks: list[str]) -> list[str]:
    """The addresses of the name servers Podman runs for `networks` (their gateways, where DNS
    is enabled), in order; a network Podman does not know adds none."""
    servers: list[str] = []
    for network in networks:
        answer = client.api.get(f"{client.api.base_url}/v4.0.0/libpod/networks/{network}/json")
        if not answer.ok:
            continue
        found = answer.json()
        if found.get("dns_enabled"):
            servers += [s["gateway"] for s in found.get("subnets") or [] if s.get("gateway")]
    return servers


_EVERY_ADDRESS = ("", "0.0.0.0", "::")


def refuse_held_ports(client: docker.DockerClient, spec: ContainerSpec) -> None:
    """Refuse `spec` when a fixed host port it asks for is published by a running container:
    Podman 4.3 would fail the start, and in failing tear down that container's forwarding
    (Docker fails the start and leaves the other be).

    Raises:
        ContainerError: naming the port.
    """
    wanted = [(spec.bind_address, host, "tcp") for host in spec.ports.values() if host]
    wanted += [(p.host_ip, p.published, p.protocol) for p in spec.published if p.published]
    if not wanted:
        return
    held = [
        (str(port.get("IP") or ""), int(port["PublicPort"]), str(port.get("Type", "tcp")))
        for summary in client.api.containers()
        for port in summary.get("Ports") or []
        if port.get("PublicPort")
    ]
    for address, number, protocol in wanted:
        for other, held_number, held_protocol in held:
            overlap = address == other or address in _EVERY_ADDRESS or other in _EVERY_ADDRESS
            if (number, protocol) == (held_number, held_protocol) and overlap:
                raise ContainerError(
                    f"run {spec.name}: port {address}:{number}/{protocol} already in use"
                )
