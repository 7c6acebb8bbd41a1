"""The registry the servers pull images from, as an instance administrator sets it: its
address, and the account Rivetr pushes with and hands the servers to pull with. The password
is sealed before it is recorded, under `SEAL_CONTEXT`, and never shown again."""

from __future__ import annotations

from rivetr.domain.commands import Command
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.swarm import SwarmState
from rivetr.domain.swarm_events import (
    RegistryAddress,
    RegistryUser,
    SwarmRegistryCleared,
    SwarmRegistrySet,
)

SEAL_CONTEXT = "swarm:registry"
MAX_PASSWORD = 4096


class SetRegistry(Command, frozen=True, kw_only=True):
    address: RegistryAddress
    username: RegistryUser = ""
    password: str = ""


class ClearRegistry(Command, frozen=True, kw_only=True):
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
    return [
        SwarmRegistrySet(
            address=command.address, username=command.username, password=sealed_password
        )
    ]


def decide_clear_registry(state: SwarmState, command: ClearRegistry) -> list[Event]:
    """Raises NotFound: none was set."""
    if state.registry is None:
        raise NotFound("no registry was set for the servers")
    return [SwarmRegistryCleared()]
