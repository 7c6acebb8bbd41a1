"""The registry the servers pull images from, as an instance administrator sets it: its
address, and the account Rivetr pushes with and hands the servers to pull with. The password
is sealed before it is recorded, under `SEAL_CONTEXT`, and never shown again.

Or one Rivetr runs for them on the manager (`HostRegistry`): it answers at the manager's
address and a port, over TLS both ways with certificates of a CA made for it alone, whose keys
are sealed under `HOSTED_SEAL_CONTEXT`. One registry at a time: the one set is cleared, or the
one run stopped, before the other kind is chosen."""

from __future__ import annotations

from typing import Annotated

import msgspec

from rivetr.domain.commands import Command
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.swarm import SwarmState, require_swarm
from rivetr.domain.swarm_events import (
    RegistryAddress,
    RegistryUser,
    SwarmRegistryCleared,
    SwarmRegistryHosted,
    SwarmRegistrySet,
    SwarmRegistryStopped,
)

SEAL_CONTEXT = "swarm:registry"
HOSTED_SEAL_CONTEXT = "swarm:hosted-registry"
MAX_PASSWORD = 4096
HOSTED_PORT = 5000  # the distribution registry's own
# the swarm's own: managers (2377), its gossip (7946) and the overlay's VXLAN (4789)
SWARM_PORTS = frozenset({2377, 4789, 7946})
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class SetRegistry(Command, frozen=True, kw_only=True):
    address: RegistryAddress
    username: RegistryUser = ""
    password: str = ""


class ClearRegistry(Command, frozen=True, kw_only=True):
    pass


class HostRegistry(Command, frozen=True, kw_only=True):
    """Run the servers' registry on the manager, answering at its address and `port`."""

    port: Port = HOSTED_PORT


class StopHostedRegistry(Command, frozen=True, kw_only=True):
    pass


def check_registry(command: SetRegistry) -> None:
    """An account is a user name and a password, both or neither.

    Raises InvalidCommand."""
    if command.username and not command.password:
        raise InvalidCommand(
            f"a password is needed to sign in to {command.address} as {command.username}",
            field="password",
        )
    if command.password and not command.username:
        raise InvalidCommand("a password needs the user name it is for", field="username")
    if len(command.password) > MAX_PASSWORD:
        raise InvalidCommand(
            f"the password is longer than {MAX_PASSWORD} characters", field="password"
        )


def decide_set_registry(
    state: SwarmState, command: SetRegistry, sealed_password: str | None
) -> list[Event]:
    """`sealed_password`: the command's password, sealed (None without an account)."""
    check_registry(command)  # whatever the state: set before a swarm is made, it waits for it
    _not_hosted(state)
    return [
        SwarmRegistrySet(
            address=command.address, username=command.username, password=sealed_password
        )
    ]


def decide_clear_registry(state: SwarmState, command: ClearRegistry) -> list[Event]:
    """Raises NotFound (none was set) or InvalidCommand (Rivetr runs it)."""
    if state.registry is None:
        raise NotFound("no registry was set for the servers")
    _not_hosted(state)
    return [SwarmRegistryCleared()]


def check_host_registry(state: SwarmState, command: HostRegistry) -> str:
    """Whether a registry may be run on the manager now; the address it will answer at.

    Raises InvalidCommand (no swarm; a port the swarm uses; a registry set) or AlreadyExists."""
    require_swarm(state)
    assert state.advertise_addr is not None  # a swarm has its manager's address
    if command.port in SWARM_PORTS:
        raise InvalidCommand(
            f"port {command.port} is the swarm's own: choose another", field="port"
        )
    registry = state.registry
    if registry is not None and registry.hosted is not None:
        raise AlreadyExists(
            f"Rivetr runs the servers' registry already, at {registry.address}: stop it"
            " first to run another"
        )
    if registry is not None:
        raise InvalidCommand(
            f"the servers pull from {registry.address}, a registry set for them: forget it"
            " first (`rivetr servers registry --clear`) to run one here"
        )
    host = state.advertise_addr
    return f"[{host}]:{command.port}" if ":" in host else f"{host}:{command.port}"


def decide_host_registry(
    state: SwarmState, command: HostRegistry, hosted: SwarmRegistryHosted
) -> list[Event]:
    """`hosted`: the registry as it was started (its keys sealed), at the address
    `check_host_registry` gave."""
    if check_host_registry(state, command) != hosted.address:
        raise InvalidCommand(
            f"the manager's address changed while the registry started at {hosted.address}"
        )
    return [hosted]


def decide_stop_hosted_registry(state: SwarmState, command: StopHostedRegistry) -> list[Event]:
    """Raises NotFound: Rivetr runs none."""
    registry = state.registry
    if registry is None or registry.hosted is None:
        raise NotFound("Rivetr runs no registry for the servers")
    return [SwarmRegistryStopped(address=registry.address)]


def _not_hosted(state: SwarmState) -> None:
    registry = state.registry
    if registry is not None and registry.hosted is not None:
        raise InvalidCommand(
            f"Rivetr runs the servers' registry at {registry.address}: stop it first"
            " (`rivetr servers registry --stop`)"
        )
