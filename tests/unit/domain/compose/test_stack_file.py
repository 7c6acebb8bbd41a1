"""Every compose vector (read in place) through the whole of what Rivetr does with a stack's
compose file: read, typed, checked, weighed for the host and for what Rivetr runs. Each either
runs (with its start waves) or is refused naming the key, the file's line and the reason; and
what an instance admin's allowance lets through, it does. This table is the conformance
table of issue 19."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters.compose_files import DirectorySources
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.stack_file import StackFile, read_stack_file
from rivetr.domain.compose.where import ComposeError

from .loaded import compose_vectors

DATA_DIR = "/var/lib/rivetr"
NONE = Allowances()
LOW_PORTS = Allowances(low_ports=True)
# file -> waves when it runs, or the text its refusal holds (each with "file:line: key: ")
TABLE: dict[str, list[list[str]] | str] = {
    "awesome-compose/elasticsearch-logstash-kibana/compose.yaml": [
        ["elasticsearch"],
        ["kibana", "logstash"],
    ],
    "awesome-compose/flask/compose.yaml": [["web"]],
    "awesome-compose/gitea-postgres/compose.yaml": [["db", "gitea"]],
    "awesome-compose/nextcloud-redis-mariadb/compose.yaml": (
        "compose.yaml:6: services.nc.ports[0]: host port 80 is below 1024"
    ),
    "awesome-compose/nginx-flask-mysql/compose.yaml": (
        "compose.yaml:47: services.proxy.ports[0]: host port 80 is below 1024"
    ),
    "awesome-compose/nginx-golang-postgres/compose.yaml": (
        "compose.yaml:39: services.proxy.ports[0]: host port 80 is below 1024"
    ),
    "awesome-compose/pihole-cloudflared-DoH/compose.yaml": (
        "compose.yaml:22: services.pihole.ports[0]: host port 53 is below 1024"
    ),
    "awesome-compose/postgresql-pgadmin/compose.yaml": [["pgadmin", "postgres"]],
    "awesome-compose/react-express-mysql/compose.yaml": (
        "compose.yaml:16: services.backend.ports[0]: host port 80 is below 1024"
    ),
    "awesome-compose/wasmedge-mysql-nginx/compose.yml": (
        "compose.yml:20: services.backend.runtime: Rivetr does not run `runtime`"
    ),
    "compose-go/env-file/compose-with-env-files.yaml": [["simple"]],
    # only an extends target: its service `nil` has no body
    "compose-go/extends/base.yaml": "base.yaml:25: services.nil: expected a mapping",
    "compose-go/extends/compose-include.yaml": (
        "subdir/compose-test-extends-imported.yaml:8: services.imported.volumes[0]:"
        " /opt/data is a host path outside the stack"
    ),
    "compose-go/extends/compose-test-extends.yaml": (
        "subdir/compose-test-extends-imported.yaml:8: services.importer.volumes[0]:"
        " /opt/data is a host path outside the stack"
    ),
    "compose-go/extends/reset.yaml": [["base", "init"]],
    "compose-go/extends/sibling.yaml": [["test"]],
    "compose-go/extends/subdir/compose-test-extends-imported.yaml": (
        "compose-test-extends-imported.yaml:8: services.imported.volumes[0]:"
        " /opt/data is a host path outside the stack"
    ),
    # compose-go reads it without its consistency check: it depends on services it lacks
    "compose-go/full-example/full-example.yml": (
        "full-example.yml:69: services.foo.depends_on.db: service 'foo' depends on undefined"
        " service 'db'"
    ),
    "compose-go/interpolation/interpolated.yaml": (
        "interpolated.yaml:5: services.foo.volumes[0]: /dev/null is a host path outside the stack"
    ),
    # every value is ${VARIABLE}, unset here: "" is no number
    "compose-go/interpolation/using-variables.yaml": (
        "using-variables.yaml:6: services.foo.deploy.replicas: expected a whole number, got ''"
    ),
    "compose-go/invalid/compose-depends-on-cycle.yaml": (
        "dependency cycle detected: service1 -> service2 -> service3 -> service1"
    ),
    "compose-go/invalid/compose-depends-on-self.yaml": (
        "dependency cycle detected: service1 -> service1"
    ),
    "compose-go/invalid/compose-include-cycle.yaml": "include cycle detected",
    "compose-go/legacy/compose-test-with-version.yaml": (
        "compose-test-with-version.yaml:17: services.web.volumes_from: Rivetr does not run"
        " volumes_from"
    ),
    "docker-compose-e2e/cascade/compose.yaml": [["running"], ["exit"], ["fail"]],
    "docker-compose-e2e/config_hash/compose.yaml": [["optional-env", "plain", "with-env-file"]],
    "docker-compose-e2e/dotenv/development/compose.yaml": [["backend"]],
    "docker-compose-e2e/env_file/compose.yaml": (
        "compose.yaml:8: services.serviceB.env_file[0]: env file /doesnotexist/.env is outside"
        " the stack"
    ),
    "docker-compose-e2e/extends-file/compose.yaml": [["app"]],
    "docker-compose-e2e/extends-file/extends.yaml": [["test"]],
    "docker-compose-e2e/invalid/wrong-composefile.yaml": (
        "wrong-composefile.yaml:4: services.simple.wrongField: unknown key `wrongField`"
    ),
    "docker-compose-e2e/network-recreate/compose.yaml": [["web"]],
    "docker-compose-e2e/restart-test/compose-depends-on.yaml": [
        ["nginx"],
        ["no-restart", "with-restart"],
    ],
}
# what an allowance lets through: the same file then runs
ALLOWED: dict[str, tuple[Allowances, list[list[str]]]] = {
    "awesome-compose/nextcloud-redis-mariadb/compose.yaml": (LOW_PORTS, [["db", "nc", "redis"]]),
    "awesome-compose/react-express-mysql/compose.yaml": (
        LOW_PORTS,
        [["db"], ["backend"], ["frontend"]],
    ),
    "compose-go/interpolation/interpolated.yaml": (
        Allowances(bind_prefixes=("/dev/null",)),
        [["foo"]],
    ),
}


def read(vectors: Path, name: str, allowances: Allowances = NONE) -> StackFile:
    path = vectors / name
    return read_stack_file(
        DirectorySources(path.parent),
        path.name,
        variables={},
        allowances=allowances,
        data_dir=DATA_DIR,
    )


def test_the_table_covers_every_compose_file_of_the_vectors(vectors_dir: Path) -> None:
    vectors = compose_vectors(vectors_dir)
    found = {
        str(path.relative_to(vectors))
        for path in vectors.rglob("*")
        if path.suffix in (".yaml", ".yml") and "schema" not in path.parts
    }
    assert found == set(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_file_runs_in_its_waves_or_is_refused_naming_key_and_line(
    vectors_dir: Path, name: str
) -> None:
    vectors = compose_vectors(vectors_dir)
    expected = TABLE[name]
    if isinstance(expected, str):
        with pytest.raises(ComposeError) as refused:
            read(vectors, name)
        assert expected in str(refused.value)
    else:
        assert read(vectors, name).waves == expected


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_what_an_allowance_lets_through_runs(vectors_dir: Path, name: str) -> None:
    allowances, waves = ALLOWED[name]
    assert read(compose_vectors(vectors_dir), name, allowances).waves == waves
