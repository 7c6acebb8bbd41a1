"""Every command of the database kinds run against real servers: PostgreSQL 15, MariaDB 10.11 and
Redis 7 from Debian's packages (tests/images, built once per machine; their build times are
printed), or the official images named by RIVETR_TEST_IMAGE_<KIND>. A backup taken by the
kind's dump, restored by its restore into a fresh server of the same image, answers the kind's
check with the counts the source had; a rotated password works and the old one stops working.

MySQL runs here through the MariaDB image, where the tools agree (Debian's mysql, mysqldump and
mysqladmin are MariaDB's under the old names). MySQL 8.4 would differ in: the dump option
--set-gtid-purged=OFF (MariaDB's dump tool refuses it, so it is left out against MariaDB), the
dump's header ("-- MySQL dump" there, "-- MariaDB dump" here), and caching_sha2_password as the
users' default authentication. MongoDB: no server can be installed here (see test_database_kinds
in tests/unit/domain)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker import DockerClient

from rivetr.domain.database_kinds import (
    Credentials,
    DatabaseKind,
    Exec,
    detect_kind,
    kind_named,
    refusal,
)
from rivetr.domain.database_kinds.mysql import MYSQL
from tests.database_images import MARIADB, POSTGRES, REDIS, ensure_image, image_for
from tests.integration.database_servers import Server, Servers, connect_docker

pytestmark = [pytest.mark.integration, pytest.mark.docker]

# passwords a shell, SQL or a URL would each misread if quoted wrongly
PASSWORD = "p'a\"s s\\w$rd;%@/:"
NEW_PASSWORD = "n3w'\"\\ `pa$$`"
ODD_PG_TABLE = 'Odd "Name"; with space'
ODD_SQL_TABLE = "odd `name`; with 'space'"


@pytest.fixture(scope="module")
def client(request: pytest.FixtureRequest) -> DockerClient:
    client = connect_docker()
    # the build times go to the terminal even when the tests pass and their output is captured
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for image in (POSTGRES, MARIADB, REDIS):
            ensure_image(client, image)
    return client


@pytest.fixture(scope="module")
def servers(client: DockerClient) -> Iterator[Servers]:
    made = Servers(client)
    try:
        yield made
    finally:
        made.remove_all()


def credentials(kind: str) -> Credentials:
    if kind == "redis":
        return Credentials(user="default", password=PASSWORD, database="0")
    return Credentials(
        user="app", password=PASSWORD, database="appdb", root_password="r\\00t`$(x)" + PASSWORD
    )


def kind_under_test(name: str) -> DatabaseKind:
    """The kind `name`; MySQL, run on the MariaDB image, without the dump option MariaDB lacks."""
    kind = kind_named(name)
    if name == "mysql" and image_for("mysql") == MARIADB.tag:
        return dataclasses.replace(MYSQL, dump_options=())
    return kind


def seed(server: Server) -> None:
    """A few tables (one whose name needs quoting, one empty) or a few hundred keys."""
    creds = server.credentials
    match server.kind.name:
        case "postgres":
            odd = '"' + ODD_PG_TABLE.replace('"', '""') + '"'
            script = f"""
                CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
                INSERT INTO items (name) SELECT 'item ' || n FROM generate_series(1, 250) AS n;
                CREATE TABLE {odd} (n int);
                INSERT INTO {odd} SELECT generate_series(1, 37);
                CREATE SCHEMA billing;
                CREATE TABLE billing.invoices (n int);
                INSERT INTO billing.invoices SELECT generate_series(1, 12);
                CREATE TABLE empty_one (n int);
            """
            argv = ("psql", "--host=127.0.0.1", f"--username={creds.user}",
                    f"--dbname={creds.database}", "--set=ON_ERROR_STOP=1", "--quiet")  # fmt: skip
            server.run(Exec(argv, {"PGPASSWORD": creds.password}, script.encode())).ok()
        case "mysql" | "mariadb":
            odd = "`" + ODD_SQL_TABLE.replace("`", "``") + "`"
            values = ", ".join(f"('item {n}')" for n in range(1, 251))
            script = f"""
                CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL);
                INSERT INTO items (name) VALUES {values};
                CREATE TABLE {odd} (n INT);
                INSERT INTO {odd} VALUES {", ".join(f"({n})" for n in range(37))};
                CREATE TABLE empty_one (n INT);
            """
            client = "mysql" if server.kind.name == "mysql" else "mariadb"
            argv = (client, "--host=127.0.0.1", "--user=root", creds.database)
            server.run(Exec(argv, {"MYSQL_PWD": creds.root_password}, script.encode())).ok()
        case "redis":
            lines = [f"SET key:{n} value-{n}" for n in range(300)]
            lines += ["HSET a-hash field value", "RPUSH a-list a b c", "SADD a-set x y"]
            commands = ("\n".join(lines) + "\n").encode()
            server.run(Exec(("redis-cli",), {"REDISCLI_AUTH": creds.password}, commands)).ok()


def expected_counts(kind: str) -> dict[str, int]:
    if kind == "postgres":
        odd = '"' + ODD_PG_TABLE.replace('"', '""') + '"'
        return {
            "public.items": 250,
            f"public.{odd}": 37,
            "billing.invoices": 12,
            "public.empty_one": 0,
        }
    if kind in ("mysql", "mariadb"):
        return {"items": 250, ODD_SQL_TABLE: 37, "empty_one": 0}
    return {"keys": 303}


def dump_to(server: Server, path: Path) -> None:
    with path.open("wb") as out:
        server.run(server.kind.dump(server.credentials), stdout=out).ok()
    assert path.stat().st_size > 0


def restore_into_fresh(servers: Servers, source: Server, backup: Path) -> Server:
    """A fresh server of the same image with `backup` restored the kind's way."""
    kind, creds = source.kind, source.credentials
    copy = servers.new(kind, source.image, creds)
    with backup.open("rb") as stdin:
        if kind.restore_mode == "stream_into_running":
            copy.start().wait_healthy()
            copy.run(kind.restore(creds), stdin=stdin).ok()
        else:
            # the file goes onto the volume before the server's first start: a one-off
            # container of the same image holds the volume meanwhile
            copy.start(command=("sleep", "600"))
            copy.run(kind.restore(creds), stdin=stdin).ok()
            copy.stop_and_remove()
            copy.start().wait_healthy()
    return copy


@pytest.fixture(scope="module", params=["postgres", "mariadb", "mysql", "redis"])
def source(request: pytest.FixtureRequest, servers: Servers) -> Server:
    """A seeded server of each kind, shared by this module's tests."""
    name: str = request.param
    server = servers.new(kind_under_test(name), image_for(name), credentials(name)).start()
    server.wait_healthy()
    seed(server)
    return server


def test_the_check_counts_exactly_what_was_written(source: Server) -> None:
    assert source.counts() == expected_counts(source.kind.name)


def test_a_backup_restored_into_a_fresh_server_answers_the_same_check(
    source: Server, servers: Servers, tmp_path: Path
) -> None:
    at_dump = source.counts()
    backup = tmp_path / f"backup{source.kind.artifact.extension}"
    dump_to(source, backup)

    copy = restore_into_fresh(servers, source, backup)

    assert copy.counts() == at_dump == expected_counts(source.kind.name)
    if source.kind.restore_mode == "file_before_start":
        # the restored data is the server's own from then on: it survives a restart
        copy.live.restart()
        copy.wait_healthy()
        assert copy.counts() == at_dump


def test_a_real_backup_tells_its_kind_by_its_first_bytes(source: Server, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    dump_to(source, backup)
    head = backup.read_bytes()[:512]

    # Debian's and the mariadb image's dump tool writes a MariaDB dump, even called mysqldump
    mariadb_tools = source.image == MARIADB.tag
    expected = "mariadb" if source.kind.name == "mysql" and mariadb_tools else source.kind.name
    assert detect_kind(head) == expected
    if expected == source.kind.name:
        assert refusal(source.kind, head) is None
    for other in ("postgres", "redis", "mongodb"):
        if other != expected:
            assert refusal(kind_named(other), head) is not None


def test_a_rotated_password_works_and_the_old_one_stops_working(
    source: Server, servers: Servers
) -> None:
    kind, creds = source.kind, source.credentials
    server = servers.new(kind, source.image, creds).start()
    server.wait_healthy()
    rotated = dataclasses.replace(creds, password=NEW_PASSWORD)

    server.run(kind.rotate_password(creds, NEW_PASSWORD)).ok()

    assert can_log_in(server, rotated)
    assert not can_log_in(server, creds)


def can_log_in(server: Server, creds: Credentials) -> bool:
    """Whether the app's user (not root) gets in with `creds.password`."""
    match server.kind.name:
        case "postgres":
            # the check runs over TCP with the password: the official image's pg_hba asks for it
            return server.run(server.kind.check(creds)).exit_code == 0
        case "mysql" | "mariadb":
            argv = ("mysql", "--host=127.0.0.1", f"--user={creds.user}", "--execute=SELECT 1")
            return server.run(Exec(argv, {"MYSQL_PWD": creds.password})).exit_code == 0
        case _:
            return server.run(server.kind.health_check(creds)).exit_code == 0
