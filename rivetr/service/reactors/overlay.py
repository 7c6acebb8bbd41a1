"""An environment's overlay: where an app's copies on other servers reach the environment's
databases. Databases stay plain containers on the manager (their volume lives there: that is
what pins them); each is connected to its environment's overlay with the alias the app's
variables use, at each replicated deploy and whenever its container is (re)made while the
overlay exists, so a restart, an upgrade or a restore keeps it reachable."""

from __future__ import annotations

import hashlib

from rivetr.adapters.runtime.base import (
    ALREADY_CONNECTED,
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
)
from rivetr.domain.databases import DatabaseState
from rivetr.projections.registry import ReadModel
from rivetr.service.queries.placed import Placed
from rivetr.service.reactors.database_containers import container_name, network_name

SUFFIX = "-ov"
_LONGEST = 63  # a swarm network's name is one DNS label: letters, digits, `-` and `_`


def overlay_name(network: str) -> str:
    """The overlay beside the environment's bridge `network` (`rivetr.team.project.env`): its
    dots, which no slug holds, become `_`, which none holds either, so no two environments share
    one; a name too long for a DNS label is the bridge's name's digest instead (one `_` where a
    readable name has three, so the two forms never meet)."""
    readable = network.replace(".", "_") + SUFFIX
    if len(readable) <= _LONGEST:
        return readable
    return f"rivetr_{hashlib.sha256(network.encode()).hexdigest()[:32]}{SUFFIX}"


async def connect(runtime: ContainerRuntime, database_id: str, alias: str, overlay: str) -> None:
    """Connect the database's container to `overlay` as `alias`; already connected is fine."""
    try:
        await runtime.connect_network(container_name(database_id), overlay, [alias])
    except ContainerError as exc:
        if not any(words in str(exc) for words in ALREADY_CONNECTED):
            raise


async def join_overlay(runtime: ContainerRuntime, state: DatabaseState) -> None:
    """Connect a database's fresh container to its environment's overlay, when one exists (an
    app of the environment has run on servers)."""
    overlay = overlay_name(network_name(state.team, state.project, state.environment))
    if overlay in await runtime.list_networks({MANAGED_LABEL: "true"}):
        await connect(runtime, state.database_id, state.name, overlay)


async def connect_environment(
    runtime: ContainerRuntime, read: ReadModel, app: Placed, overlay: str
) -> list[str]:
    """Connect every database of the app's (or stack's) environment that has a container to
    `overlay`; returns their names.

    Raises:
        ContainerError: naming the database the engine would not connect.
    """
    names = []
    for view in await read.databases.in_environment(app.team, app.project, app.environment):
        if await runtime.inspect_container(container_name(view.database_id)) is None:
            continue  # not made yet: it joins when its container is (`join_overlay`)
        try:
            await connect(runtime, view.database_id, view.name, overlay)
        except ContainerError as exc:
            raise ContainerError(
                f"the database {view.name} could not join {overlay}: {exc}"
            ) from None
        names.append(view.name)
    return names
