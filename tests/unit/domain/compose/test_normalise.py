"""The loaded data read into the model's long form, and every refusal naming its key and line."""

from __future__ import annotations

import pytest

from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.normalise import read_model
from rivetr.domain.compose.service import Service
from rivetr.domain.compose.where import ComposeError, Location

from .loaded import load


def read(text: str) -> ComposeProject:
    return read_model(*load(text))


def service(text: str) -> Service:
    return read("services:\n  web:\n" + text).services["web"]


def refusal(text: str) -> ComposeError:
    with pytest.raises(ComposeError) as raised:
        read(text)
    return raised.value


def test_lists_of_key_value_become_mappings() -> None:
    web = service(
        "    environment: [A=1, B, C=x=y]\n"
        "    labels: [com.x=1, com.empty]\n"
        "    sysctls: [net.core.somaxconn=1024]\n"
        "    extra_hosts: ['otherhost:50.31.209.229', 'v6=::1', 'otherhost:1.2.3.4']\n"
    )
    assert web.environment == {"A": "1", "B": None, "C": "x=y"}
    assert web.labels == {"com.x": "1", "com.empty": ""}
    assert web.sysctls == {"net.core.somaxconn": "1024"}
    assert web.extra_hosts == {"otherhost": ["50.31.209.229", "1.2.3.4"], "v6": ["::1"]}


def test_mapping_values_that_are_numbers_or_booleans_are_their_text() -> None:
    web = service(
        "    environment: {N: 42, B: true, F: 1.5, E: null}\n    labels: {n: 42, e: null}\n"
    )
    assert web.environment == {"N": "42", "B": "true", "F": "1.5", "E": None}
    assert web.labels == {"n": "42", "e": ""}


def test_lists_of_names_become_mappings_with_the_defaults() -> None:
    web = service(
        "    image: x\n    depends_on: [db]\n    networks: [front, default]\n"
        "    build: ./app\n    ulimits: {nproc: 65535, nofile: {soft: 1, hard: 2}}\n"
    )
    (db,) = web.depends_on.values()
    assert (db.condition, db.required, db.restart) == ("service_started", True, False)
    assert set(web.networks) == {"front", "default"}
    assert web.networks["front"].aliases == []
    assert web.build is not None
    assert web.build.context == "./app"
    assert (web.ulimits["nproc"].soft, web.ulimits["nproc"].hard) == (65535, 65535)
    assert (web.ulimits["nofile"].soft, web.ulimits["nofile"].hard) == (1, 2)


def test_commands_are_split_as_a_shell_splits_them() -> None:
    web = service(
        "    command: sh -c \"return 111\"\n    entrypoint: ['/a b', x]\n"
        "    healthcheck: {test: curl -f localhost || exit 1}\n"
    )
    assert web.command == ["sh", "-c", "return 111"]
    assert web.entrypoint == ["/a b", "x"]
    assert web.healthcheck is not None
    assert web.healthcheck.test == ["CMD-SHELL", "curl -f localhost || exit 1"]
    assert service("    command: []\n").command == []
    assert service("    image: x\n").command is None


def test_durations_sizes_and_cpus_from_text() -> None:
    web = service(
        "    stop_grace_period: 1m30s\n    shm_size: 512m\n    cpus: '1.5'\n    mem_limit: 1gb\n"
        "    healthcheck: {interval: 500ms, retries: '3'}\n"
        "    deploy: {resources: {limits: {cpus: 0.5, memory: 50M, pids: '100'}}}\n"
    )
    assert (web.stop_grace_period, web.shm_size, web.cpus, web.mem_limit) == (
        90.0,
        512 << 20,
        1.5,
        1 << 30,
    )
    assert web.healthcheck is not None
    assert (web.healthcheck.interval, web.healthcheck.retries) == (0.5, 3)
    assert web.deploy is not None
    assert web.deploy.resources is not None
    limits = web.deploy.resources.limits
    assert limits is not None
    assert (limits.cpus, limits.memory, limits.pids) == (0.5, 50 << 20, 100)


def test_interpolated_text_is_taken_as_the_type_the_key_wants() -> None:
    web = service(
        "    read_only: 'yes'\n    init: 'true'\n"
        "    deploy: {replicas: '1'}\n    ports: [{target: '80', published: 8080}]\n"
    )
    assert web.read_only is True
    assert web.init is True
    assert web.deploy is not None
    assert web.deploy.replicas == 1
    assert (web.ports[0].target, web.ports[0].published) == (80, "8080")


def test_restart_no_unquoted_is_the_policy_no() -> None:
    assert service("    restart: no\n").restart == "no"


def test_top_level_entries_with_nothing_under_them_take_the_defaults() -> None:
    project = read(
        "services: {}\nvolumes:\n  data:\n  old: {external: {name: theirs}}\n"
        "networks:\n  front:\nsecrets:\n  s: {file: ./s.txt}\n"
    )
    assert project.volumes["data"].driver is None
    assert (project.volumes["old"].external, project.volumes["old"].name) == (True, "theirs")
    assert project.networks["front"].external is False
    assert project.secrets["s"].file == "./s.txt"


def test_extensions_are_kept_where_users_write_them_and_read_elsewhere() -> None:
    project = read(
        "x-common: &c {a: 1}\nservices:\n  web:\n    image: x\n    x-rivetr: {domain: a.b}\n"
        "    healthcheck: {test: [CMD, 'true'], x-note: ok}\n"
        "    labels: {x-label: kept}\n"
    )
    web = project.services["web"]
    assert project.extensions == {"x-common": {"a": 1}}
    assert web.extensions == {"x-rivetr": {"domain": "a.b"}}
    assert web.labels == {"x-label": "kept"}


def test_an_unknown_key_is_refused_naming_it_and_its_line() -> None:
    error = refusal("services:\n  simple:\n    image: nginx\n    wrongField: test\n")
    assert (error.key, error.location) == (
        "services.simple.wrongField",
        Location("compose.yaml", 4),
    )
    assert "wrongField" in str(error)
    assert "services.simple" in str(error)


def test_the_model_s_own_field_for_extensions_is_no_key_of_a_file() -> None:
    assert refusal("services:\n  web:\n    extensions: {}\n").key == "services.web.extensions"


@pytest.mark.parametrize(
    ("text", "key", "line", "problem"),
    [
        ("    ports:\n      - 80\n      - '99999:80'\n", "services.web.ports[1]", 5, "host port"),
        ("    cpus: lots\n", "services.web.cpus", 3, "number"),
        ("    stop_grace_period: 10\n", "services.web.stop_grace_period", 3, "duration"),
        ("    shm_size: big\n", "services.web.shm_size", 3, "size"),
        ("    read_only: perhaps\n", "services.web.read_only", 3, "true or false"),
        ("    environment: [1]\n", "services.web.environment[0]", 3, "KEY=VALUE"),
        (
            "    depends_on: {db: {condition: sometime}}\n",
            "services.web.depends_on.db.condition",
            3,
            "one of",
        ),
        (
            "    depends_on: {db: {required: true}}\n",
            "services.web.depends_on.db",
            3,
            "`condition` is required",
        ),
        ("    volumes: ['a:b:c:d']\n", "services.web.volumes[0]", 3, "too many colons"),
        (
            "    volumes: [{source: x, target: /y}]\n",
            "services.web.volumes[0]",
            3,
            "`type` is required",
        ),
        ("    command: 'echo \"unclosed'\n", "services.web.command", 3, "split"),
        (
            "    deploy:\n      resources:\n        limits: {memory: lots}\n",
            "services.web.deploy.resources.limits.memory",
            5,
            "size",
        ),
        (
            "    networks: {front: {aliases: x}}\n",
            "services.web.networks.front.aliases",
            3,
            "a list",
        ),
        ("    image: [nginx]\n", "services.web.image", 3, "text"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key_and_line(
    text: str, key: str, line: int, problem: str
) -> None:
    error = refusal("services:\n  web:\n" + text)
    assert error.key == key
    assert error.location == Location("compose.yaml", line)
    assert problem in error.problem


def test_a_port_after_a_range_is_placed_on_its_own_line() -> None:
    data, where = load(
        "services:\n  web:\n    ports:\n      - 3000-3002\n      - target: 80\n"
        "        published: 8080\n      - 90:90\n"
    )
    web = read_model(data, where).services["web"]
    assert [port.target for port in web.ports] == [3000, 3001, 3002, 80, 90]
    assert where.of(("services", "web", "ports", 2)) == Location("compose.yaml", 4)
    assert where.of(("services", "web", "ports", 3, "published")) == Location("compose.yaml", 6)
    assert where.of(("services", "web", "ports", 4)) == Location("compose.yaml", 7)
    assert where.of(("services", "web", "ports", 2, "published")) == Location("compose.yaml", 4)


def test_a_list_item_that_became_a_key_is_placed_on_its_line() -> None:
    data, where = load("services:\n  web:\n    environment:\n      - A=1\n      - B=2\n")
    read_model(data, where)
    assert where.of(("services", "web", "environment", "B")) == Location("compose.yaml", 5)


def test_the_model_encodes_compactly_and_decodes_to_the_same() -> None:
    import msgspec

    project = read("services:\n  web:\n    image: x\n    ports: ['80:80']\n")
    encoded = msgspec.json.encode(project)
    assert b"ingress" not in encoded
    assert b'"published":"80"' in encoded
    assert msgspec.json.decode(encoded, type=ComposeProject) == project
