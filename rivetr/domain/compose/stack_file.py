"""A stack's compose file read whole, in the order every refusal is meant to come: read as
Compose reads it (`loading.load`), typed (`normalise.read_model`), checked as compose-go
checks it (`checks.check`), weighed for what it asks of the host (`policy.refusals`) and for
what Rivetr runs (`support.supported`). Nothing is started before all of it passed."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import msgspec

from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.checks import check, start_order
from rivetr.domain.compose.loading import load
from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.normalise import read_model
from rivetr.domain.compose.policy import host_ports, refusals
from rivetr.domain.compose.servers import on_servers, refuse_on_servers
from rivetr.domain.compose.support import supported
from rivetr.domain.compose.where import Sources, Where


class StackFile(msgspec.Struct, frozen=True, kw_only=True):
    """A compose file Rivetr will run: its model, where each part was written, the waves its
    services start in, what Compose would warn about, and the host ports it publishes (for
    the claims: one holder per port on the host)."""

    project: ComposeProject
    where: Where
    waves: list[list[str]]
    warnings: tuple[str, ...]
    host_ports: list[tuple[str, int, str]]
    on_servers: frozenset[str] = frozenset()  # the services run as copies on servers

    @property
    def any_on_servers(self) -> bool:
        return bool(self.on_servers)


def read_stack_file(
    sources: Sources,
    entry: str,
    *,
    variables: Mapping[str, str],
    allowances: Allowances,
    data_dir: str,
    profiles: Collection[str] = (),
    servers: bool = False,
) -> StackFile:
    """`servers`: this Rivetr manages a swarm, where a service may ask to run as copies.

    Raises ComposeError (several at once as ComposeRefusals) naming each key and its line."""
    loaded = load(sources, entry, variables=variables, profiles=profiles)
    where = loaded.where
    project = read_model(loaded.data, where)
    check(project, where)
    refusals(project, where, allowances, data_dir=data_dir)
    warnings = loaded.warnings + supported(project, where, servers=servers)
    if servers:
        refuse_on_servers(project, where)
    return StackFile(
        project=project,
        where=where,
        waves=start_order(project),
        warnings=warnings,
        host_ports=list(host_ports(project)),
        on_servers=frozenset(
            name for name, service in project.services.items() if servers and on_servers(service)
        ),
    )
