"""The route table: which release answers a Host (and, optionally, a path under it)."""

from __future__ import annotations

from collections.abc import Mapping

from rivetr.adapters.proxy.balance import Group
from rivetr.adapters.proxy.route_kinds import (
    STRATEGIES,
    Balanced,
    Parked,
    Route,
    Strategy,
    Upstream,
)

__all__ = ["STRATEGIES", "Balanced", "Parked", "Route", "RouteTable", "Strategy", "Upstream"]

# what a request is sent to: a balanced route's counter lives in its `Group`
Target = Upstream | Group | Parked
# hostname -> (path prefix, target), the longest prefix first
Targets = dict[str, list[tuple[bytes, Target]]]


class RouteTable:
    """Keys are `host` or `host/path/prefix`, `*.` wildcards one label deep. `replace` swaps the
    whole table at once, so a lookup sees either the old table or the new one."""

    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        self._targets: Targets = {}
        self.replace(routes or {})

    def replace(self, routes: Mapping[str, Route]) -> None:
        table: Targets = {}
        groups: dict[Balanced, Group] = {}  # the domains of one balanced route share its turn
        for key, route in routes.items():
            host, slash, prefix = key.partition("/")
            path = (slash + prefix).rstrip("/").encode()
            target: Target
            if isinstance(route, Balanced):
                group = groups.get(route)
                if group is None:
                    group = groups[route] = Group(route)
                target = group
            else:
                target = route
            table.setdefault(host.lower().rstrip("."), []).append((path, target))
        for prefixes in table.values():
            prefixes.sort(key=lambda entry: len(entry[0]), reverse=True)
        self._targets = table

    def find(self, host: str, path: bytes = b"/") -> Target | None:
        """Where a request goes: what `lookup` answers, with a balanced route's `Group`."""
        name = hostname(host)
        targets = self._targets  # one read: the table may be swapped meanwhile
        prefixes = targets.get(name)
        if prefixes is None and "." in name:
            prefixes = targets.get("*." + name.split(".", 1)[1])
        if prefixes is None:
            return None
        for prefix, target in prefixes:
            if not prefix or _under(path, prefix):
                return target
        return None

    def lookup(self, host: str, path: bytes = b"/") -> Route | None:
        target = self.find(host, path)
        return target.route if isinstance(target, Group) else target

    def addresses(self) -> set[tuple[str, int]]:
        """Every address a route may send to: the pool and the balancer forget the others."""
        addresses: set[tuple[str, int]] = set()
        for entries in self._targets.values():
            for _, target in entries:
                if isinstance(target, Upstream):
                    addresses.add((target.host, target.port))
                elif isinstance(target, Group):
                    addresses.update(target.addresses)
        return addresses

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._targets.values())


def _under(path: bytes, prefix: bytes) -> bool:
    """`/api` covers `/api`, `/api/x` and `/api?q`, not `/apix`."""
    return path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in (b"", b"/", b"?")


def hostname(host: str) -> str:
    """The Host header without its port, lower-case."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower().rstrip(".")
