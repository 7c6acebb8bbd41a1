"""The swarm lab's network on the host: one user-defined bridge for the manager (the host, at
the bridge's gateway) and the workers, and the NAT rules that let a worker reach a service the
host runs on loopback (the registry) under the same `127.0.0.1:PORT` name the host uses."""

from __future__ import annotations

import ipaddress
import shlex
import shutil
import socket
import struct
import subprocess
from pathlib import Path

import docker.errors
from docker import DockerClient
from docker.types import IPAMConfig, IPAMPool

PREFIX = "rivetr-lab"  # every container, volume, network and NAT rule the lab makes
LABEL = "rivetr.swarm-lab"
NETWORK = PREFIX
BRIDGE = f"{PREFIX}0"  # the host interface's name, so NAT rules can match it
# Outside Docker's default address pools (172.17-31/16 and 192.168/16 in /20s): a pool network
# (a compose project's, say) never lands on it. 192.168.213.0/24 was taken on the first host.
DEFAULT_SUBNET = "198.18.213.0/24"  # RFC 2544's benchmarking range: never routed


class LabError(RuntimeError):
    """The lab cannot be set up or torn down; the message says what is in the way."""


def _host_routes() -> list[ipaddress.IPv4Network]:
    routes = []
    for line in Path("/proc/net/route").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":  # the default route overlaps everything
            continue
        address = socket.inet_ntoa(struct.pack("<L", int(fields[1], 16)))
        mask = socket.inet_ntoa(struct.pack("<L", int(fields[7], 16)))
        routes.append(ipaddress.IPv4Network(f"{address}/{mask}", strict=False))
    return routes


def create_network(client: DockerClient, subnet: str) -> str:
    """The lab's bridge on `subnet`; returns its gateway (`.1`), the host's address on it.

    Raises LabError naming what already uses an overlapping range (a Docker network or a host
    route), so a clash is not a bare "Pool overlaps" error."""
    wanted = ipaddress.IPv4Network(subnet)
    for network in client.networks.list():
        for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
            taken = pool.get("Subnet", "")
            if ":" not in taken and taken and wanted.overlaps(ipaddress.IPv4Network(taken)):
                raise LabError(
                    f"the lab's subnet {subnet} overlaps Docker network {network.name!r} "
                    f"({taken}); remove it or pass Lab(subnet=...)"
                )
    for route in _host_routes():
        if wanted.overlaps(route):
            raise LabError(
                f"the lab's subnet {subnet} overlaps the host route {route}; pass Lab(subnet=...)"
            )
    gateway = str(next(wanted.hosts()))
    try:
        client.networks.create(
            NETWORK,
            driver="bridge",
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)]),
            options={"com.docker.network.bridge.name": BRIDGE},
            labels={LABEL: "1"},
        )
    except docker.errors.APIError as exc:
        raise LabError(f"creating the lab's bridge {NETWORK} on {subnet} failed: {exc}") from exc
    return gateway


def _iptables(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("iptables") or "/usr/sbin/iptables"
    done = subprocess.run([binary, *argv], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise LabError(f"iptables {shlex.join(argv)} failed: {done.stderr.strip()}")
    return done


def forward_to_host_loopback(gateway: str, port: int) -> None:
    """Connections from the lab's bridge to `gateway:port` reach the host's `127.0.0.1:port`.

    The registry listens on loopback only (nothing else on the machine's networks reaches
    it); the kernel routes a packet from an interface to 127.0.0.1 only with route_localnet
    set on that interface, which ends with the bridge."""
    Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet").write_text("1\n")
    rule = [
        "PREROUTING", "-i", BRIDGE, "-p", "tcp", "-d", gateway, "--dport", str(port),
        "-m", "comment", "--comment", PREFIX,
        "-j", "DNAT", "--to-destination", f"127.0.0.1:{port}",
    ]  # fmt: skip
    if _iptables("-t", "nat", "-C", *rule, check=False).returncode != 0:  # not there yet
        _iptables("-t", "nat", "-I", *rule)


def remove_host_forwards() -> None:
    """Delete every NAT rule the lab added on the host (found by their comment): a killed run's
    too, so a rule never outlives the bridge it names."""
    for line in _iptables("-t", "nat", "-S", "PREROUTING").stdout.splitlines():
        argv = shlex.split(line)
        if argv[:1] == ["-A"] and f"--comment {PREFIX}" in " ".join(argv):
            _iptables("-t", "nat", "-D", *argv[1:])


def worker_forward_script(gateway: str, port: int) -> str:
    """The shell commands that make `127.0.0.1:port` inside a worker reach `gateway:port`.

    Packets a process sends to loopback carry source 127.0.0.1: after the DNAT they must be
    masqueraded to the worker's own address, and the kernel must be allowed to route them."""
    return (
        "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet"
        f" && iptables -t nat -I OUTPUT -p tcp -d 127.0.0.1 --dport {port}"
        f" -j DNAT --to-destination {gateway}:{port}"
        f" && iptables -t nat -I POSTROUTING -p tcp -d {gateway} --dport {port} -j MASQUERADE"
    )
