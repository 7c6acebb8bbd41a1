"""`extends`: a service built on another of the same file (`extends: base`, `{service: base}`)
or of another file (`{file, service}`), merged by the specification's rules, along chains, with
cycles refused. The base keeps the places it was written at, in its own file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rivetr.domain.compose.merge import merge_service
from rivetr.domain.compose.nodes import Map, refusal
from rivetr.domain.compose.paths import directory
from rivetr.domain.compose.where import ComposeError, DataPath, Location

Found = tuple[str, str]  # (file, service)


class Files(Protocol):
    """What resolving `extends` needs of the reader (`reading.Reader`)."""

    def file(self, path: str, base: str, env: Mapping[str, str]) -> Map: ...

    def copy(self, value: Any) -> Any: ...

    def path(self, written: str) -> str: ...


def apply_extends(files: Files, root: Map, path: str, env: Mapping[str, str]) -> None:
    """Resolve the `extends` of every service of `root` (the file `path`), in place.

    Raises:
        ComposeError: a base that is not there, a malformed `extends`, or a cycle; named with
            the key and line of the `extends` at fault.
    """
    services = root.get("services")
    if not isinstance(services, Map):
        return
    resolver = _Resolver(files, env)
    for name, service, at in services.entries():
        if isinstance(service, Map) and "extends" in service:
            services.put(name, resolver.resolve(path, services, name, ()), at)


class _Resolver:
    def __init__(self, files: Files, env: Mapping[str, str]) -> None:
        self.files, self.env = files, env
        self.done: dict[Found, Any] = {}

    def resolve(self, path: str, services: Map, name: str, chain: tuple[Found, ...]) -> Any:
        found = (path, name)
        if found in self.done:
            return self.done[found]
        service = services.get(name)
        if not isinstance(service, Map) or "extends" not in service:
            return service
        key: DataPath = ("services", name, "extends")
        at = service.at.get("extends")
        if found in chain:
            names = " -> ".join(_shown(step, path) for step in (*chain, found))
            raise refusal(f"extends cycle detected: {names}", key, at)
        ref, written = _target(service["extends"], key, at)
        base_path, base_services = path, services
        if written is not None:
            base_path = self.files.path(written)
            base_services = self.services_of(base_path, name, key, at)
        if ref not in base_services:
            where = "" if written is None else f" in {base_path}"
            raise refusal(
                f'cannot extend service "{name}": service "{ref}" not found{where}', key, at
            )
        base = self.resolve(base_path, base_services, ref, (*chain, found))
        if base is None:
            base = Map()
        if not isinstance(base, Map):
            raise refusal(f'cannot extend service "{name}": "{ref}" is not a mapping', key, at)
        own = Map()
        for field, value, value_at in service.entries():
            if field != "extends":
                own.put(field, value, value_at, service.marks.get(field))
        merged = merge_service(self.files.copy(base), own)
        self.done[found] = merged
        return merged

    def services_of(self, path: str, name: str, key: DataPath, at: Location | None) -> Map:
        try:
            other = self.files.file(path, directory(path), self.env)
        except ComposeError as exc:
            if exc.location is not None:  # a fault inside that file: its own line says more
                raise
            raise refusal(f'cannot extend service "{name}": {exc.problem}', key, at) from exc
        services = other.get("services")
        if not isinstance(services, Map):
            raise refusal(f'cannot extend service "{name}": {path} has no services', key, at)
        return services


def _target(extends: Any, key: DataPath, at: Location | None) -> tuple[str, str | None]:
    """The service `extends` names, and the file it is in (None: this file)."""
    if isinstance(extends, str) and extends:
        return extends, None
    if isinstance(extends, Map):
        service, file = extends.get("service"), extends.get("file")
        if isinstance(service, str) and service and (file is None or isinstance(file, str)):
            return service, file
    raise refusal(
        "extends names a service: `extends: name` or `{service: name, file: ...}`", key, at
    )


def _shown(step: Found, entry: str) -> str:
    file, name = step
    return name if file == entry else f"{file}:{name}"
