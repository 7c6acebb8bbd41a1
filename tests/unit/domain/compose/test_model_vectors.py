"""Conformance over the shared compose vectors (read in place): every valid file is read into
the model with the values the Specification gives it, every invalid one refused as compose-go
refuses it. Files whose reading needs the compose reader (variables, `.env`, env files,
`extends`, `include`, the `!reset` tag) wait for it, each saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.domain.compose.checks import check, start_order
from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.normalise import read_model
from rivetr.domain.compose.where import ComposeError

from .loaded import compose_vectors, load_file

# files whose meaning needs the reader (extends, include, !reset...): read whole, through it,
# by test_stack_file.py's conformance table; here the model alone reads the others
READER = "needs the compose reader (rivetr/domain/compose/loading.py): "
# how each file is read here: as it is, with `${X:-default}` as its default, without the
# consistency check, or not (why)
VALID: dict[str, str] = {
    "awesome-compose/elasticsearch-logstash-kibana/compose.yaml": "plain",
    "awesome-compose/flask/compose.yaml": "plain",
    "awesome-compose/gitea-postgres/compose.yaml": "plain",
    "awesome-compose/nextcloud-redis-mariadb/compose.yaml": "plain",
    "awesome-compose/nginx-flask-mysql/compose.yaml": "plain",
    "awesome-compose/nginx-golang-postgres/compose.yaml": "plain",
    "awesome-compose/pihole-cloudflared-DoH/compose.yaml": "plain",
    "awesome-compose/postgresql-pgadmin/compose.yaml": "plain",
    "awesome-compose/react-express-mysql/compose.yaml": "plain",
    "awesome-compose/wasmedge-mysql-nginx/compose.yml": "plain",
    # compose-go reads it without its consistency check: it uses what it does not declare
    "compose-go/full-example/full-example.yml": "unchecked",
    "compose-go/extends/sibling.yaml": "plain",
    "compose-go/extends/subdir/compose-test-extends-imported.yaml": "plain",
    "compose-go/legacy/compose-test-with-version.yaml": "plain",
    "compose-go/interpolation/interpolated.yaml": "defaults",
    "docker-compose-e2e/cascade/compose.yaml": "plain",
    "docker-compose-e2e/config_hash/compose.yaml": "plain",
    "docker-compose-e2e/dotenv/development/compose.yaml": "plain",
    "docker-compose-e2e/env_file/compose.yaml": "plain",
    "docker-compose-e2e/extends-file/extends.yaml": "plain",
    "docker-compose-e2e/network-recreate/compose.yaml": "defaults",
    "docker-compose-e2e/restart-test/compose-depends-on.yaml": "defaults",
    "compose-go/env-file/compose-with-env-files.yaml": READER + "${PORT} comes from .env",
    "compose-go/interpolation/using-variables.yaml": READER + "${VARIABLE} in typed keys",
    "compose-go/extends/compose-test-extends.yaml": READER + "extends from another file",
    "compose-go/extends/compose-include.yaml": READER + "include",
    "compose-go/extends/base.yaml": READER + "an extends target with a null service",
    "compose-go/extends/reset.yaml": READER + "the !reset tag and extends",
    "docker-compose-e2e/extends-file/compose.yaml": READER + "extends from another file",
}
INVALID: dict[str, str] = {
    "compose-go/invalid/compose-depends-on-cycle.yaml": (
        "dependency cycle detected: service1 -> service2 -> service3 -> service1"
    ),
    "compose-go/invalid/compose-depends-on-self.yaml": (
        "dependency cycle detected: service1 -> service1"
    ),
    "docker-compose-e2e/invalid/wrong-composefile.yaml": "services.simple.wrongField",
    "compose-go/invalid/compose-include-cycle.yaml": READER + "include cycle detected",
}


@pytest.fixture(scope="module")
def compose(vectors_dir: Path) -> Path:
    return compose_vectors(vectors_dir)


def project(compose: Path, name: str) -> ComposeProject:
    how = VALID[name]
    data, where = load_file(compose / name, defaults=how == "defaults")
    read = read_model(data, where)
    if how != "unchecked":
        check(read, where)
    return read


def test_every_compose_vector_is_in_the_tables(compose: Path) -> None:
    files = {str(p.relative_to(compose)) for p in compose.rglob("*.y*ml")}
    assert files == set(VALID) | set(INVALID)


@pytest.mark.parametrize(
    "name", sorted(n for n, how in VALID.items() if how in ("plain", "defaults", "unchecked"))
)
def test_a_valid_file_is_read_and_its_order_found(compose: Path, name: str) -> None:
    read = project(compose, name)
    waves = start_order(read)
    assert sorted(name for wave in waves for name in wave) == sorted(read.services)


@pytest.mark.parametrize(
    "name", sorted(n for n, message in INVALID.items() if not message.startswith(READER))
)
def test_an_invalid_file_is_refused_with_the_message_compose_gives(
    compose: Path, name: str
) -> None:
    data, where = load_file(compose / name)
    with pytest.raises(ComposeError) as raised:
        check(read_model(data, where), where)
    assert INVALID[name] in str(raised.value)
    assert raised.value.location is not None


def test_full_example(compose: Path) -> None:
    foo = project(compose, "compose-go/full-example/full-example.yml").services["foo"]
    assert len(foo.ports) == 1 + 5 + 1 + 2 + 1 + 1 + 11
    by_target = {port.target: port for port in foo.ports}
    assert (by_target[8080].published, by_target[8081].published) == ("9090", "9091")
    assert (by_target[5010].host_ip, by_target[5010].published) == ("127.0.0.1", "5010")
    assert by_target[3003].published is None
    kinds = [(m.type, m.source, m.target, m.read_only) for m in foo.volumes]
    assert kinds == [
        ("volume", None, "/var/lib/anonymous", False),
        ("bind", "/opt/data", "/var/lib/data", False),
        ("bind", ".", "/code", False),
        ("bind", "./static", "/var/www/html", False),
        ("bind", "~/configs", "/etc/configs", True),
        ("volume", "datavolume", "/var/lib/volume", False),
        ("bind", "./opt", "/opt/cached", False),
        ("tmpfs", None, "/opt/tmpfs", False),
    ]
    assert foo.volumes[-1].tmpfs is not None
    assert foo.volumes[-1].tmpfs.size == 10000
    check_ = foo.healthcheck
    assert check_ is not None
    assert check_.test == ["CMD-SHELL", 'echo "hello world"']
    assert (check_.interval, check_.timeout, check_.start_period, check_.start_interval) == (
        10.0,
        1.0,
        15.0,
        5.0,
    )
    assert check_.retries == 5
    assert {k: (u.soft, u.hard) for k, u in foo.ulimits.items()} == {
        "nproc": (65535, 65535),
        "nofile": (20000, 40000),
    }
    assert foo.stop_grace_period == 20.0
    assert foo.command == ["bundle", "exec", "thin", "-p", "3000"]
    assert foo.deploy is not None
    assert foo.deploy.resources is not None
    assert foo.deploy.resources.limits is not None
    assert (foo.deploy.resources.limits.cpus, foo.deploy.resources.limits.memory) == (
        0.001,
        50 << 20,
    )
    assert foo.deploy.restart_policy is not None
    assert foo.deploy.restart_policy.window == 120.0
    assert foo.environment == {"BAZ": "baz_from_service_def", "QUX": None}
    assert foo.extensions == {"x-bar": "baz", "x-foo": "bar"}
    assert [(s.source, s.path(), s.mode) for s in foo.secrets] == [
        ("secret1", "/run/secrets/secret1", None),
        ("secret2", "/run/secrets/my_secret", 0o440),
    ]
    assert [c.path() for c in foo.configs] == ["/config1", "/my_config"]


def test_full_example_top_level(compose: Path) -> None:
    read = project(compose, "compose-go/full-example/full-example.yml")
    assert read.name == "full_example_project_name"
    assert read.networks["other-external-network"].external is True
    assert read.networks["other-external-network"].name == "my-cool-network"
    assert read.volumes["external-volume3"].name == "this-is-volume3"
    assert read.volumes["other-volume"].driver_opts == {"foo": "bar", "baz": "1"}
    assert read.secrets["secret4"].environment == "BAR"
    assert read.configs["config2"].external is True
    assert read.extensions["x-nested"] == {"bar": "baz", "foo": "bar"}


def test_full_example_uses_what_it_does_not_declare(compose: Path) -> None:
    data, where = load_file(compose / "compose-go/full-example/full-example.yml")
    with pytest.raises(ComposeError) as raised:
        check(read_model(data, where), where)
    assert str(raised.value).splitlines() == [
        "full-example.yml:69: services.foo.depends_on.db: service 'foo' depends on undefined "
        "service 'db'",
        "full-example.yml:70: services.foo.depends_on.redis: service 'foo' depends on "
        "undefined service 'redis'",
        "full-example.yml:247: services.foo.networks.other-other-network: service 'foo' uses "
        "network 'other-other-network', not declared under the top-level `networks`",
        "full-example.yml:318: services.foo.volumes[5]: service 'foo' uses volume "
        "'datavolume', not declared under the top-level `volumes`",
    ]


def test_gitea_postgres_exposes_its_database(compose: Path) -> None:
    read = project(compose, "awesome-compose/gitea-postgres/compose.yaml")
    assert read.services["db"].expose == ["5432"]
    assert read.services["db"].environment["POSTGRES_DB"] == "gitea"
    assert [(p.target, p.published) for p in read.services["gitea"].ports] == [(3000, "3000")]


def test_restart_test_depends_on_a_healthy_service_and_restarts_with_it(compose: Path) -> None:
    read = project(compose, "docker-compose-e2e/restart-test/compose-depends-on.yaml")
    restarting = read.services["with-restart"].depends_on["nginx"]
    assert (restarting.condition, restarting.restart, restarting.required) == (
        "service_healthy",
        True,
        True,
    )
    assert read.services["no-restart"].depends_on["nginx"].restart is False
    nginx = read.services["nginx"]
    assert nginx.healthcheck is not None
    assert nginx.healthcheck.test == ["CMD-SHELL", "echo | nc -w 5 localhost:80"]
    assert nginx.labels == {"TEST": "test"}
    assert start_order(read) == [["nginx"], ["no-restart", "with-restart"]]


def test_cascade_waits_for_a_service_to_complete(compose: Path) -> None:
    read = project(compose, "docker-compose-e2e/cascade/compose.yaml")
    assert read.services["fail"].depends_on["exit"].condition == "service_completed_successfully"
    assert read.services["fail"].command == ["sh", "-c", "return 111"]
    assert read.services["running"].init is True


def test_a_default_inside_a_short_volume(compose: Path) -> None:
    (mount,) = (
        project(compose, "compose-go/interpolation/interpolated.yaml").services["foo"].volumes
    )
    assert (mount.type, mount.source, mount.target, mount.read_only) == (
        "bind",
        "/dev/null",
        "/tmp/foo",
        True,
    )


def test_the_legacy_version_is_read_and_ignored(compose: Path) -> None:
    read = project(compose, "compose-go/legacy/compose-test-with-version.yaml")
    assert read.version == "2"
    assert list(read.services["web"].networks) == ["front", "default"]
    assert read.services["web"].volumes_from == ["other"]
    assert start_order(read) == [["other"], ["web"]]


def test_awesome_compose_details(compose: Path) -> None:
    golang = project(compose, "awesome-compose/nginx-golang-postgres/compose.yaml")
    (conf,) = golang.services["proxy"].volumes
    assert (conf.type, conf.source, conf.read_only) == ("bind", "./proxy/nginx.conf", True)
    pihole = project(compose, "awesome-compose/pihole-cloudflared-DoH/compose.yaml")
    assert [(p.target, p.protocol) for p in pihole.services["pihole"].ports][:3] == [
        (53, "tcp"),
        (53, "udp"),
        (67, "udp"),
    ]
    assert pihole.services["cloudflared"].networks["dns-net"].ipv4_address == "172.20.0.2"
    elk = project(compose, "awesome-compose/elasticsearch-logstash-kibana/compose.yaml")
    assert elk.services["elasticsearch"].environment["discovery.type"] == "single-node"
    mysql = project(compose, "awesome-compose/react-express-mysql/compose.yaml")
    backend = mysql.services["backend"]
    assert backend.build is not None
    assert backend.build.args == {"NODE_ENV": "development"}
    assert start_order(mysql) == [["db"], ["backend"], ["frontend"]]
