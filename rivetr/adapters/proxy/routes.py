"""The route table: which release answers a Host (and, optionally, a path under it)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class Upstream(msgspec.Struct, frozen=True):
    app: str
    host: str
    port: int
    deployment_id: str


class Parked(msgspec.Struct, frozen=True):
    """A domain of a known app that has no running release (never deployed, or none live
    now): answered here with a 503 that says so, not taken for a host nobody configured."""

    app: str


Route = Upstream | Parked
# hostname -> (path prefix, route), the longest prefix first
Routes = dict[str, list[tuple[bytes, Route]]]


class RouteTable:
    """Keys are `host` or `host/path/prefix`, `*.` wildcards one label deep. `replace` swaps the
    whole table at once, so a lookup sees either the old table or the new one."""

    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        self._routes: Routes = {}
        self.replace(routes or {})

    def replace(self, routes: Mapping[str, Route]) -> None:
        table: Routes = {}
        for key, upstream in routes.items():
            host, slash, prefix = key.partition("/")
            path = (slash + prefix).rstrip("/").encode()
            table.setdefault(host.lower().rstrip("."), []).append((path, upstream))
        for prefixes in table.values():
            prefixes.sort(key=lambda entry: len(entry[0]), reverse=True)
        self._routes = table

    def lookup(self, host: str, path: bytes = b"/") -> Route | None:
        name = hostname(host)
        routes = self._routes  # one read: the table may be swapped meanwhile
        prefixes = routes.get(name)
        if prefixes is None and "." in name:
            prefixes = routes.get("*." + name.split(".", 1)[1])
        if prefixes is None:
            return None
        for prefix, upstream in prefixes:
            if not prefix or _under(path, prefix):
                return upstream
        return None

    def addresses(self) -> set[tuple[str, int]]:
        return {
            (route.host, route.port)
            for entries in self._routes.values()
            for _, route in entries
            if isinstance(route, Upstream)
        }

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._routes.values())


def _under(path: bytes, prefix: bytes) -> bool:
    """`/api` covers `/api`, `/api/x` and `/api?q`, not `/apix`."""
    return path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in (b"", b"/", b"?")


def hostname(host: str) -> str:
    """The Host header without its port, lower-case."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower().rstrip(".")
