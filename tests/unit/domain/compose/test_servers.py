"""Which services of a stack run on servers, read as Swarm reads a stack (`deploy.replicas` or
`scale` above 1, `mode: global`, a placement), and what such a service cannot take from one
machine refused before anything starts, naming the key and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.domain.compose import servers
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.normalise import read_model
from rivetr.domain.compose.refusals import ComposeRefusals
from rivetr.domain.compose.sources import InMemorySources
from rivetr.domain.compose.stack_file import StackFile, read_stack_file
from rivetr.domain.compose.support import supported
from rivetr.domain.compose.where import ComposeError

from .loaded import compose_vectors, load_file

FULL_EXAMPLE = "compose-go/full-example/full-example.yml"
DB = "  db:\n    image: postgres:16\n    volumes: [data:/var/lib/postgresql/data]\n"
TAIL = "volumes:\n  data: {}\n"


def read(web: str, *, on: bool = True) -> StackFile:
    text = f"services:\n{DB}  web:\n    image: nginx\n{web}{TAIL}"
    return read_stack_file(
        InMemorySources({"compose.yaml": text}),
        "compose.yaml",
        variables={},
        allowances=Allowances(),
        data_dir="/var/lib/rivetr",
        servers=on,
    )


def refused(web: str) -> list[ComposeError]:
    with pytest.raises(ComposeError) as raised:
        read(web)
    error = raised.value
    return list(error.refusals) if isinstance(error, ComposeRefusals) else [error]


@pytest.mark.parametrize(
    "web",
    [
        "    deploy: {replicas: 3}\n",
        "    scale: 2\n",
        "    deploy: {mode: global}\n",
        "    deploy:\n      placement:\n        constraints: [node.labels.zone==eu]\n",
        "    deploy:\n      replicas: 4\n      placement:\n        preferences:"
        " [{spread: node.labels.zone}]\n        max_replicas_per_node: 2\n",
    ],
)
def test_a_service_asking_for_copies_runs_on_servers_and_the_rest_stays_here(web: str) -> None:
    stack_file = read(web)
    assert stack_file.on_servers == {"web"}


def test_what_a_service_asks_of_servers_is_read_as_swarm_reads_it() -> None:
    web = read(
        "    deploy:\n      replicas: 4\n      placement:\n"
        "        constraints: [node.role==worker]\n"
        "        preferences: [{spread: node.labels.zone}]\n"
        "        max_replicas_per_node: 2\n"
    ).project.services["web"]
    assert servers.replicas(web) == 4
    assert not servers.is_global(web)
    assert servers.constraints(web) == ["node.role==worker"]
    assert servers.spread(web) == ["node.labels.zone"]
    assert servers.max_per_node(web) == 2
    assert servers.replicas(read("    scale: 3\n").project.services["web"]) == 3


def test_without_servers_copies_are_refused_saying_what_runs_them() -> None:
    with pytest.raises(ComposeError, match="rivetr servers init"):
        read("    deploy: {replicas: 3}\n", on=False)
    assert read("", on=False).on_servers == frozenset()
    assert read("", on=True).on_servers == frozenset()  # one copy: a container, as ever


@pytest.mark.parametrize(
    ("web", "key", "problem"),
    [
        ("    ports: ['8080:80']\n", "services.web.ports[0]", "no fixed host port (8080)"),
        ("    volumes: [data:/srv]\n", "services.web.volumes[0]", "writes no volume (/srv)"),
        ("    pids_limit: 100\n", "services.web.pids_limit", "pids_limit is not run on servers"),
        ("    ulimits: {nofile: 1024}\n", "services.web.ulimits", "ulimits is not run"),
        ("    shm_size: 1g\n", "services.web.shm_size", "shm_size is not run"),
    ],
)
def test_what_a_service_on_servers_cannot_have_there_is_refused_naming_it(
    web: str, key: str, problem: str
) -> None:
    found = refused("    deploy: {replicas: 2}\n" + web)
    assert [(one.key, problem in one.problem) for one in found] == [(key, True)]
    assert found[0].location is not None
    assert found[0].location.line >= 7


def test_too_many_copies_and_a_service_run_once_are_refused() -> None:
    found = refused("    deploy: {replicas: 100}\n")
    assert "1 to 64 copies, not 100" in found[0].problem
    text = (
        "services:\n  migrate:\n    image: app\n    deploy: {replicas: 2}\n"
        "  web:\n    image: nginx\n    depends_on:\n"
        "      migrate: {condition: service_completed_successfully}\n"
    )
    with pytest.raises(ComposeError, match="runs once, on this machine"):
        read_stack_file(
            InMemorySources({"compose.yaml": text}),
            "compose.yaml",
            variables={},
            allowances=Allowances(),
            data_dir="/var/lib/rivetr",
            servers=True,
        )


def test_a_read_only_volume_and_unpublished_ports_go_along() -> None:
    stack_file = read(
        "    deploy: {replicas: 2}\n    volumes: ['data:/srv:ro']\n    ports: ['80']\n"
    )
    assert stack_file.on_servers == {"web"}


def test_compose_gos_full_example_is_read_as_swarm_reads_its_deploy(vectors_dir: Path) -> None:
    """compose-go's full example asks for 6 replicated copies, at most 5 a node, spread over
    `node.labels.az`: on servers all of that is run, without servers it is refused; and what
    its service cannot take to another server (fixed host ports, volumes it writes) is named."""
    data, where = load_file(compose_vectors(vectors_dir) / FULL_EXAMPLE)
    project = read_model(data, where)
    foo = project.services["foo"]
    assert servers.on_servers(foo)
    assert (servers.replicas(foo), servers.max_per_node(foo)) == (6, 5)
    assert servers.constraints(foo) == ["node=foo"]
    assert servers.spread(foo) == ["node.labels.az"]
    deploy = ("services.foo.deploy.mode", "services.foo.deploy.replicas")

    def refused_keys(on: bool) -> set[str]:
        with pytest.raises(ComposeError) as raised:
            supported(project, where, servers=on)
        return {one.key for one in getattr(raised.value, "refusals", (raised.value,))}

    assert not refused_keys(True) & {*deploy, "services.foo.deploy.placement"}
    assert {"services.foo.deploy.replicas", "services.foo.deploy.placement"} <= refused_keys(False)
    with pytest.raises(ComposeError) as raised:
        servers.refuse_on_servers(project, where)
    found = [one.key for one in getattr(raised.value, "refusals", (raised.value,))]
    assert sum(key.startswith("services.foo.ports[") for key in found) == 16  # fixed ones
    assert {"services.foo.volumes[0]", "services.foo.volumes[5]"} <= set(found)  # written
    assert "services.foo.device_cgroup_rules" in found
