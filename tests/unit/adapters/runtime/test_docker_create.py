"""The engine's create request for a spec: what goes to Docker, and where Podman 4.3 is asked
differently so that the container runs the same (the contract suite shows the effect inside
real containers; these pin the request itself)."""

from __future__ import annotations

import docker.errors
import pytest

from rivetr.adapters.runtime.base import (
    ContainerError,
    ContainerSpec,
    EngineHealthcheck,
    Mount,
    PublishedPort,
)
from rivetr.adapters.runtime.container_spec import spec_problems
from rivetr.adapters.runtime.docker_create import (
    EngineDefaults,
    Kind,
    create_request,
    healthcheck_config,
    lost_port_race,
)

SPEC = ContainerSpec(name="web", image="rivetr/web:1")


def test_a_plain_spec_asks_for_what_it_always_did_and_a_stop_timeout() -> None:
    request = create_request(SPEC, "docker", "1.41")

    config, host = request.config, request.config["HostConfig"]
    assert config["Entrypoint"] is None  # the image's
    assert config["StopTimeout"] == 10
    assert host["Init"] is True
    assert host["Memory"] == 512 * 2**20
    assert host["RestartPolicy"] == {"Name": "unless-stopped"}
    for absent in ("Mounts", "Tmpfs", "Ulimits", "Sysctls", "ReadonlyRootfs", "CapDrop", "Dns"):
        assert absent not in host
    assert request.networks == {}


def test_no_entrypoint_is_asked_for_as_one_empty_word_on_both_engines() -> None:
    spec = ContainerSpec(name="web", image="i", entrypoint=[], command=["run"])

    for kind in ("docker", "podman"):
        assert create_request(spec, kind, "1.41").config["Entrypoint"] == [""]


def test_published_ports_join_the_tcp_ports_with_their_own_addresses() -> None:
    spec = ContainerSpec(
        name="dns",
        image="i",
        ports={8080: None},
        published=[
            PublishedPort(target=53, published=5353, protocol="udp"),
            PublishedPort(target=8080, published=9000, host_ip="0.0.0.0"),
        ],
    )

    docker_host = create_request(spec, "docker", "1.41").config["HostConfig"]
    podman_host = create_request(spec, "podman", "1.41").config["HostConfig"]

    assert docker_host["PortBindings"] == {
        "8080/tcp": [
            {"HostIp": "127.0.0.1", "HostPort": ""},
            {"HostIp": "0.0.0.0", "HostPort": "9000"},
        ],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
    }
    assert podman_host["PortBindings"]["8080/tcp"][1] == {"HostIp": "", "HostPort": "9000"}


def test_an_engine_chosen_published_port_is_tried_again_when_taken() -> None:
    taken = docker.errors.APIError("start", explanation="address already in use")
    fixed = ContainerSpec(name="a", image="i", published=[PublishedPort(target=1, published=2)])
    chosen = ContainerSpec(name="a", image="i", published=[PublishedPort(target=1, published=None)])

    assert lost_port_race(chosen, taken)
    assert not lost_port_race(fixed, taken)


def test_mounts_go_as_the_engines_mounts() -> None:
    spec = ContainerSpec(
        name="web",
        image="i",
        mounts=[
            Mount(type="volume", source="data", target="/data"),
            Mount(type="bind", source="/srv/checkout/conf", target="/conf", read_only=True),
            Mount(type="tmpfs", source="", target="/t", tmpfs_size_bytes=2**20, tmpfs_mode=0o700),
        ],
    )

    mounts = create_request(spec, "docker", "1.41").config["HostConfig"]["Mounts"]

    assert [(m["Type"], m["Source"], m["Target"], m["ReadOnly"]) for m in mounts] == [
        ("volume", "data", "/data", False),
        ("bind", "/srv/checkout/conf", "/conf", True),
        ("tmpfs", "", "/t", False),
    ]
    assert mounts[2]["TmpfsOptions"] == {"SizeBytes": 2**20, "Mode": 0o700}


def test_a_read_only_root_on_podman_gets_no_writable_tmpfs_it_did_not_ask_for() -> None:
    spec = ContainerSpec(name="web", image="i", read_only=True, tmpfs={"/tmp": "size=1m"})

    docker_host = create_request(spec, "docker", "1.41").config["HostConfig"]
    podman_host = create_request(spec, "podman", "1.41").config["HostConfig"]

    assert docker_host["Tmpfs"] == {"/tmp": "size=1m"}
    assert podman_host["Tmpfs"] == {"/tmp": "size=1m", "/run": "ro", "/var/tmp": "ro"}


def test_podman_keeps_its_default_open_files_and_processes_beside_other_limits() -> None:
    spec = ContainerSpec(name="web", image="i", ulimits={"nofile": (10, 20), "core": (0, 0)})
    defaults = EngineDefaults(ulimits={"nofile": (1, 2), "nproc": (3, 4), "stack": (5, 6)})

    def limits(kind: Kind) -> dict[str, tuple[int, int]]:
        host = create_request(spec, kind, "1.41", defaults).config["HostConfig"]
        return {u["Name"]: (u["Soft"], u["Hard"]) for u in host["Ulimits"]}

    assert limits("docker") == {"nofile": (10, 20), "core": (0, 0)}
    assert limits("podman") == {"nofile": (10, 20), "core": (0, 0), "nproc": (3, 4)}


def test_podman_asks_its_networks_name_servers_first_when_given_some() -> None:
    spec = ContainerSpec(name="web", image="i", network="n", dns=["10.1.2.3"])
    defaults = EngineDefaults(name_servers=["10.89.0.1"])

    assert create_request(spec, "docker", "1.41", defaults).config["HostConfig"]["Dns"] == [
        "10.1.2.3"
    ]
    assert create_request(spec, "podman", "1.41", defaults).config["HostConfig"]["Dns"] == [
        "10.89.0.1",
        "10.1.2.3",
    ]


def test_extra_networks_are_joined_after_the_create() -> None:
    spec = ContainerSpec(name="web", image="i", network="a", extra_networks={"b": ["web-b"]})

    request = create_request(spec, "docker", "1.41")

    assert list(request.config["NetworkingConfig"]["EndpointsConfig"]) == ["a"]
    assert request.networks == {"b": ["web-b"]}


def test_a_spec_that_contradicts_itself_has_its_problems_named() -> None:
    spec = ContainerSpec(
        name="web",
        image="i",
        network="a",
        extra_networks={"a": []},
        healthcheck=EngineHealthcheck(test=["curl", "-f", "localhost"], shell=True),
        mounts=[Mount(type="bind", source="conf", target="/conf")],
    )

    assert spec_problems(spec) == [
        "network a given twice",
        "a shell health check is one command line",
        "bind mount source 'conf' is not an absolute path",
    ]
    assert spec_problems(SPEC) == []


def test_a_shell_health_check_is_one_line_and_its_start_interval_needs_docker_1_44() -> None:
    check = EngineHealthcheck(test=["curl -f localhost | grep ok"], shell=True, start_interval_s=1)

    assert healthcheck_config(check, "docker", "1.41")["Test"] == [
        "CMD-SHELL",
        "curl -f localhost | grep ok",
    ]
    assert "StartInterval" not in healthcheck_config(check, "docker", "1.41")
    assert "StartInterval" not in healthcheck_config(check, "podman", "1.44")
    assert healthcheck_config(check, "docker", "1.44")["StartInterval"] == 1_000_000_000
    with pytest.raises(ContainerError, match="one command line"):
        healthcheck_config(EngineHealthcheck(test=["a", "b"], shell=True))
