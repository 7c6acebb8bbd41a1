"""What the proxy allows a client: how long it may take to send a request head, how long a
connection may sit idle, and how many connections it and everyone together may hold open."""

from __future__ import annotations

import ipaddress

import msgspec


class ProxyLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The defaults are `Settings`' (a unit test keeps them equal)."""

    header_timeout_s: float = 15.0  # from accepting a connection (or a request's first byte)
    idle_timeout_s: float = 60.0  # kept-alive and silent; a stalled body; an answer not read
    max_connections: int = 10_000
    max_connections_per_ip: int = 256


class Admission:
    """Counts the open client connections, in all and per address. The total is counted from
    the accept (a TLS handshake under way holds a place), the address once it is known."""

    def __init__(self, limits: ProxyLimits) -> None:
        self.limits = limits
        self.open = 0
        self.per_address: dict[str, int] = {}

    def enter(self) -> bool:
        if self.open >= self.limits.max_connections:
            return False
        self.open += 1
        return True

    def leave(self) -> None:
        self.open -= 1

    def enter_address(self, key: str) -> bool:
        held = self.per_address.get(key, 0)
        if held >= self.limits.max_connections_per_ip:
            return False
        self.per_address[key] = held + 1
        return True

    def leave_address(self, key: str) -> None:
        held = self.per_address[key] - 1
        if held:
            self.per_address[key] = held
        else:
            del self.per_address[key]


def address_key(host: str) -> str:
    """What the per-address limit counts by: an IPv4 address, or an IPv6 /64, since every
    IPv6 host is handed a whole /64 and could otherwise take a new address per connection."""
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.partition("%")[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:  # a dual-stack listener's IPv4 client
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))
