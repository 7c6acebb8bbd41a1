"""A project's consistency, as compose-go checks it after loading: service names, an image or
a build for each service, dependencies on services that exist and without cycles, and networks,
volumes, secrets and configs declared at the top level; and the order services start in."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Final

from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.refusals import Collected
from rivetr.domain.compose.service import Dependency, Service
from rivetr.domain.compose.where import ComposeError, DataPath, Where

# the Specification's pattern, starting with a letter or digit and short enough to be a DNS
# label: a service's name is its address on the stack's network
SERVICE_NAME: Final = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}")
TOP_LEVEL_NAME: Final = re.compile(r"[a-zA-Z0-9._-]+")  # the Specification's pattern
DEFAULT_NETWORK: Final = "default"  # the stack's own network, there without being declared
_STARTED: Final = Dependency(condition="service_started")


def needs(service: Service) -> dict[str, Dependency]:
    """The services `service` waits for: its `depends_on`, and, as compose-go adds them, the
    services it links to, shares a namespace with (`network_mode: service:db`) or takes
    volumes from."""
    found = dict(service.depends_on)
    linked = [link.partition(":")[0] for link in service.links]
    shared = [
        mode.removeprefix("service:")
        for mode in (service.network_mode, service.ipc, service.pid, service.uts)
        if mode and mode.startswith("service:")
    ]
    taken = [
        source.partition(":")[0]
        for source in service.volumes_from
        if not source.startswith("container:")
    ]
    for name in (*linked, *shared, *taken):
        found.setdefault(name, _STARTED)
    return found


def check(project: ComposeProject, where: Where) -> None:
    """Refuses what compose-go refuses of a loaded project.

    Raises:
        ComposeError: each problem, naming the key and its line (several at once as
            `ComposeRefusals`); a dependency cycle as compose-go words it
            (`dependency cycle detected: a -> b -> a`).
    """
    found = Collected(where)
    for kind in ("networks", "volumes", "secrets", "configs"):
        for name in getattr(project, kind):
            if not TOP_LEVEL_NAME.fullmatch(name):
                # a name like `/etc` could pass for a host path where the engine takes either
                found.refuse(
                    f"a name under `{kind}` is letters, digits, `.`, `_` or `-`", (kind, name)
                )
    for name, service in project.services.items():
        at = ("services", name)
        if not SERVICE_NAME.fullmatch(name):
            found.refuse(
                "a service name is 1 to 63 letters, digits, `.`, `_` or `-`, "
                "starting with a letter or digit",
                at,
            )
        if service.image is None and service.build is None and service.provider is None:
            found.refuse(f"service {name!r} has neither an image nor a build context", at)
        for other, dependency in needs(service).items():
            if other not in project.services and dependency.required:
                key: DataPath = (*at, "depends_on", other) if other in service.depends_on else at
                found.refuse(f"service {name!r} depends on undefined service {other!r}", key)
        for kind, key, used in _declared_uses(service):
            declared: Mapping[str, object] = getattr(project, kind)
            if used not in declared and not (kind == "networks" and used == DEFAULT_NETWORK):
                found.refuse(
                    f"service {name!r} uses {kind[:-1]} {used!r}, not declared under "
                    f"the top-level `{kind}`",
                    (*at, *key),
                )
    found.raise_any()
    cycle = _cycle(project)
    if cycle:
        raise ComposeError(
            "dependency cycle detected: " + " -> ".join(cycle),
            key=("services", cycle[0], "depends_on", cycle[1]),
            where=where,
        )


def _declared_uses(service: Service) -> Iterator[tuple[str, DataPath, str]]:
    """(top-level kind, key within the service, name) of each top-level thing it uses."""
    for network in service.networks:
        yield "networks", ("networks", network), network
    for index, mount in enumerate(service.volumes):
        if mount.type == "volume" and mount.source:
            yield "volumes", ("volumes", index), mount.source
    for index, secret in enumerate(service.secrets):
        yield "secrets", ("secrets", index), secret.source
    for index, config in enumerate(service.configs):
        yield "configs", ("configs", index), config.source
    if service.build is not None:
        for index, secret in enumerate(service.build.secrets):
            yield "secrets", ("build", "secrets", index), secret.source


def _cycle(project: ComposeProject) -> list[str]:
    """The first cycle in name order, as compose-go finds it: `[a, b, a]`, or none."""
    edges = {
        name: sorted(other for other in needs(service) if other in project.services)
        for name, service in project.services.items()
    }
    clear: set[str] = set()  # services from which no cycle is reachable

    def search(path: list[str]) -> list[str]:
        for other in edges[path[-1]]:
            if other in path:
                return [*path[path.index(other) :], other]
            if other not in clear:
                found = search([*path, other])
                if found:
                    return found
        clear.add(path[-1])
        return []

    for name in sorted(edges):
        found = search([name])
        if found:
            return found
    return []


def start_order(project: ComposeProject) -> list[list[str]]:
    """The services in waves: each wave's services need only services of earlier waves, so
    a deployer may start a wave's services together once the waves before it are up (as their
    conditions say). Names are sorted within a wave.

    Raises:
        ComposeError: the dependencies go round in a cycle (`check` refuses it first).
    """
    pending = {
        name: {other for other in needs(service) if other in project.services}
        for name, service in project.services.items()
    }
    waves: list[list[str]] = []
    started: set[str] = set()
    while pending:
        wave = sorted(name for name, wanted in pending.items() if wanted <= started)
        if not wave:
            cycle = _cycle(project)
            raise ComposeError("dependency cycle detected: " + " -> ".join(cycle))
        waves.append(wave)
        started.update(wave)
        for name in wave:
            del pending[name]
    return waves
