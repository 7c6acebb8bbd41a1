"""The servers' registry: an account is a user name and a password, both or neither; the
password recorded is the sealed one it is handed; forgetting needs one set."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import swarm
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.swarm_events import (
    SwarmInitialised,
    SwarmRegistryCleared,
    SwarmRegistryHosted,
    SwarmRegistrySet,
    SwarmRegistryStopped,
)
from rivetr.domain.swarm_registry import (
    ClearRegistry,
    HostRegistry,
    SetRegistry,
    StopHostedRegistry,
    check_host_registry,
    decide_clear_registry,
    decide_host_registry,
    decide_set_registry,
    decide_stop_hosted_registry,
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


SWARM = swarm.evolve(
    swarm.SwarmState(),
    SwarmInitialised(swarm_id="s1", node_id="n1", hostname="vps-1", advertise_addr="10.0.0.1"),
)


def hosted(address: str = "10.0.0.1:5000") -> SwarmRegistryHosted:
    return SwarmRegistryHosted(
        address=address,
        image="registry:2",
        ca="CA",
        cert="CERT",
        key="sealed:key",
        client_cert="CLIENT",
        client_key="sealed:client",
    )


def test_a_registry_is_run_at_the_managers_address_and_stopped() -> None:
    assert check_host_registry(SWARM, HostRegistry()) == "10.0.0.1:5000"
    assert check_host_registry(SWARM, HostRegistry(port=443)) == "10.0.0.1:443"
    [recorded] = decide_host_registry(SWARM, HostRegistry(), hosted())
    state = swarm.evolve(SWARM, recorded)
    assert state.registry == swarm.Registry(address="10.0.0.1:5000", hosted=hosted())

    [stopped] = decide_stop_hosted_registry(state, StopHostedRegistry())

    assert stopped == SwarmRegistryStopped(address="10.0.0.1:5000")
    assert swarm.evolve(state, stopped).registry is None


def test_a_registry_is_run_only_on_a_swarm_off_its_ports_and_one_at_a_time() -> None:
    with pytest.raises(InvalidCommand, match="no swarm yet"):
        check_host_registry(swarm.SwarmState(), HostRegistry())
    for port in (2377, 7946, 4789):
        with pytest.raises(InvalidCommand, match="the swarm's own") as own:
            check_host_registry(SWARM, HostRegistry(port=port))
        assert own.value.field == "port"
    running = swarm.evolve(SWARM, hosted())
    with pytest.raises(AlreadyExists, match=r"already, at 10\.0\.0\.1:5000"):
        check_host_registry(running, HostRegistry(port=5001))
    with pytest.raises(InvalidCommand, match="stop it first"):
        decide_set_registry(running, SetRegistry(address="r.example.com"), None)
    with pytest.raises(InvalidCommand, match="stop it first"):
        decide_clear_registry(running, ClearRegistry())
    set_one = swarm.evolve(SWARM, SwarmRegistrySet(address="r.example.com"))
    with pytest.raises(InvalidCommand, match="forget it first"):
        check_host_registry(set_one, HostRegistry())
    with pytest.raises(NotFound, match="runs no registry"):
        decide_stop_hosted_registry(set_one, StopHostedRegistry())
    with pytest.raises(InvalidCommand, match="address changed"):
        decide_host_registry(SWARM, HostRegistry(), hosted("10.0.0.9:5000"))


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_a_port_is_one_tcp_has(port: int) -> None:
    with pytest.raises(msgspec.ValidationError, match="port"):
        msgspec.convert({"port": port}, HostRegistry)
