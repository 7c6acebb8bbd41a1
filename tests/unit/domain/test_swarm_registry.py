"""The servers' registry: an account is a user name and a password, both or neither; the
password recorded is the sealed one it is handed; forgetting needs one set."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import swarm
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.swarm_events import SwarmRegistryCleared, SwarmRegistrySet
from rivetr.domain.swarm_registry import (
    ClearRegistry,
    SetRegistry,
    decide_clear_registry,
    decide_set_registry,
)


def test_a_registry_is_set_with_its_password_sealed_and_forgotten() -> None:
    asked = SetRegistry(address="10.0.0.1:5000", username="deploy", password="s3cret")
    [recorded] = decide_set_registry(swarm.SwarmState(), asked, "sealed:xyz")
    assert recorded == SwarmRegistrySet(
        address="10.0.0.1:5000", username="deploy", password="sealed:xyz"
    )
    state = swarm.evolve(swarm.SwarmState(), recorded)
    assert state.registry == swarm.Registry(
        address="10.0.0.1:5000", username="deploy", password="sealed:xyz"
    )
    assert decide_clear_registry(state, ClearRegistry()) == [SwarmRegistryCleared()]
    assert swarm.evolve(state, SwarmRegistryCleared()).registry is None
    anyone = SetRegistry(address="registry.example.com")
    assert decide_set_registry(state, anyone, None) == [
        SwarmRegistrySet(address="registry.example.com")
    ]


def test_an_account_needs_both_its_name_and_its_password() -> None:
    with pytest.raises(InvalidCommand, match="password is needed") as no_password:
        decide_set_registry(
            swarm.SwarmState(), SetRegistry(address="r.example.com", username="deploy"), None
        )
    assert no_password.value.field == "password"
    with pytest.raises(InvalidCommand, match="user name") as no_user:
        decide_set_registry(
            swarm.SwarmState(), SetRegistry(address="r.example.com", password="x"), "sealed"
        )
    assert no_user.value.field == "username"
    with pytest.raises(NotFound, match="no registry"):
        decide_clear_registry(swarm.SwarmState(), ClearRegistry())


@pytest.mark.parametrize(
    "address",
    [
        "https://r.example.com",
        "r.example.com/",
        "r.example.com/Team",
        "-r.example.com",
        "r x",
        "a:b",
    ],
)
def test_an_address_is_what_an_image_name_starts_with(address: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="address"):
        msgspec.convert({"address": address}, SetRegistry)


@pytest.mark.parametrize(
    "address", ["r.example.com", "10.0.0.1:5000", "localhost:5000", "r.example.com/my-team/apps"]
)
def test_addresses_images_start_with_are_taken(address: str) -> None:
    assert msgspec.convert({"address": address}, SetRegistry).address == address
