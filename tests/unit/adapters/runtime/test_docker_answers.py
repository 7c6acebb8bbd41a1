"""Reading Docker's and Podman's answers the same way."""

from __future__ import annotations

import pytest

from rivetr.adapters.runtime.docker_answers import container_info, short_ref, vanished


@pytest.mark.parametrize(
    ("engine_says", "port_says"),
    [
        ("rivetr/app:abc", "rivetr/app:abc"),  # Docker
        ("docker.io/rivetr/app:abc", "rivetr/app:abc"),  # Podman, a compat build
        ("localhost/rivetr/busybox:latest", "rivetr/busybox:latest"),  # Podman, an import
        ("docker.io/library/nginx:1", "nginx:1"),
        ("ghcr.io/owner/app:1", "ghcr.io/owner/app:1"),
        ("localhost:5000/app:1", "localhost:5000/app:1"),
    ],
)
def test_image_names_are_shortened_as_docker_shows_them(engine_says: str, port_says: str) -> None:
    assert short_ref(engine_says) == port_says


def inspection(status: str) -> dict[str, object]:
    return {
        "Id": "c0ffee",
        "Name": "/rivetr-web-1",
        "Config": {"Image": "docker.io/rivetr/web:1", "Labels": {"rivetr.managed": "true"}},
        "State": {"Status": status},
        "NetworkSettings": {
            "Ports": {
                "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "40001"}],
                "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "40002"}],
                "9000/tcp": None,
            }
        },
    }


def test_a_running_container_publishes_its_tcp_ports() -> None:
    info = container_info(inspection("running"))

    assert info.name == "rivetr-web-1"
    assert info.image == "rivetr/web:1"
    assert info.host_ports == {8080: 40001}


@pytest.mark.parametrize("status", ["exited", "created", "stopped", "dead"])
def test_a_container_that_is_not_running_publishes_nothing(status: str) -> None:
    # Podman keeps reporting a stopped container's bindings; Docker drops them
    assert container_info(inspection(status)).host_ports == {}


@pytest.mark.parametrize(
    ("status", "state", "exit_code"),
    [
        ("running", "running", None),
        ("created", "created", None),  # both engines say 0 before the process ran
        ("exited", "exited", 3),
        ("stopped", "exited", 3),  # Podman, between the process's end and its cleanup
        ("dead", "dead", 3),
    ],
)
def test_only_a_process_that_ended_has_an_exit_status(
    status: str, state: str, exit_code: int | None
) -> None:
    attrs = inspection(status)
    attrs["State"] = {"Status": status, "ExitCode": 0 if status == "created" else 3}

    info = container_info(attrs)

    assert (info.state, info.exit_code) == (state, exit_code)


@pytest.mark.parametrize(
    ("status", "explanation", "gone"),
    [
        (404, "No such container: c0ffee", True),  # Docker
        (500, "container c0ffee does not exist in database: no such container", True),  # Podman
        (500, "something else broke", False),
        (409, "removal of container c0ffee is already in progress", False),
    ],
)
def test_a_container_removed_since_it_was_listed_is_told_apart_on_both_engines(
    status: int, explanation: str, gone: bool
) -> None:
    assert vanished(status, explanation) is gone
