"""The kinds of managed database as pure definitions: defaults, URLs with odd passwords, secrets
kept off command lines, the checks' parsers on what real servers printed, and backups told
apart by their first bytes.

The outputs and dump heads in tests/fixtures/database_kinds were captured from the real
PostgreSQL 15, MariaDB 10.11 and Redis 7 servers (capture.py there). MongoDB cannot run on these
machines: its samples below follow the formats mongosh and mongodump write, but were not
captured from a server. MySQL's dump header likewise is MySQL 8.4's format, written by hand."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.database_kinds import (
    HEAD_BYTES,
    KINDS,
    Credentials,
    DatabaseKind,
    Exec,
    detect_kind,
    kind_named,
    refusal,
)
from rivetr.domain.database_kinds.mysql import sql_literal as mysql_literal
from rivetr.domain.database_kinds.postgres import sql_literal as pg_literal
from rivetr.domain.database_kinds.redis import REDIS

CAPTURED = Path(__file__).resolve().parents[2] / "fixtures" / "database_kinds"
PASSWORD = "Zq'9\"x y\\z$w;%@/:#?&"
NEW_PASSWORD = "N3w'\"\\pa$$ `x`"
MYSQL_84_HEAD = b"-- MySQL dump 10.13  Distrib 8.4.3, for Linux (x86_64)\n--\n-- Host: 127.0.0.1\n"
MONGO_ARCHIVE_HEAD = b"\x6d\xe2\x99\x81" + b"\x8c\x00\x00\x00\x03header\x00"


def creds(password: str = PASSWORD) -> Credentials:
    return Credentials(user="app", password=password, database="appdb", root_password=password)


def every_exec(kind: DatabaseKind, credentials: Credentials) -> list[Exec]:
    return [
        kind.health_check(credentials),
        kind.dump(credentials),
        kind.restore(credentials),
        kind.check(credentials),
        kind.rotate_password(credentials, NEW_PASSWORD),
    ]


@pytest.mark.parametrize(
    ("name", "image", "port", "data_dir"),
    [
        ("postgres", "postgres:16-alpine", 5432, "/var/lib/postgresql/data"),
        ("mysql", "mysql:8.4", 3306, "/var/lib/mysql"),
        ("mariadb", "mariadb:11", 3306, "/var/lib/mysql"),
        ("redis", "redis:7-alpine", 6379, "/data"),
        ("mongodb", "mongo:7", 27017, "/data/db"),
    ],
)
def test_each_kind_runs_its_official_image_by_default(
    name: str, image: str, port: int, data_dir: str
) -> None:
    kind = kind_named(name)
    assert (kind.name, kind.default_image, kind.default_port, kind.data_dir) == (
        name,
        image,
        port,
        data_dir,
    )


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(KeyError):
        kind_named("oracle")


def test_the_images_variables_carry_the_credentials() -> None:
    c = creds()
    assert kind_named("postgres").container_env(c) == {
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": PASSWORD,
        "POSTGRES_DB": "appdb",
    }
    assert kind_named("mysql").container_env(c) == {
        "MYSQL_ROOT_PASSWORD": PASSWORD,
        "MYSQL_DATABASE": "appdb",
        "MYSQL_USER": "app",
        "MYSQL_PASSWORD": PASSWORD,
    }
    assert set(kind_named("mariadb").container_env(c)) == {
        "MARIADB_ROOT_PASSWORD",
        "MARIADB_DATABASE",
        "MARIADB_USER",
        "MARIADB_PASSWORD",
    }
    assert kind_named("mongodb").container_env(c) == {
        "MONGO_INITDB_ROOT_USERNAME": "app",
        "MONGO_INITDB_ROOT_PASSWORD": PASSWORD,
        "MONGO_INITDB_DATABASE": "appdb",
    }
    redis = kind_named("redis")
    assert redis.container_env(c) == {"REDIS_PASSWORD": PASSWORD}
    assert redis.command(c)[:2] == ("sh", "-c")
    assert '--requirepass "$REDIS_PASSWORD" --appendonly yes' in redis.command(c)[2]
    assert all(kind_named(n).command(c) == () for n in ("postgres", "mysql", "mariadb", "mongodb"))


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("postgres", "postgres://app:{q}@db.internal:5432/appdb"),
        ("mysql", "mysql://app:{q}@db.internal:3306/appdb"),
        ("mariadb", "mysql://app:{q}@db.internal:3306/appdb"),
        ("redis", "redis://default:{q}@db.internal:6379/0"),
        ("mongodb", "mongodb://app:{q}@db.internal:27017/appdb?authSource=admin"),
    ],
)
def test_the_url_apps_get_quotes_an_odd_password(name: str, url: str) -> None:
    c = creds() if name != "redis" else Credentials("default", PASSWORD, "0")
    connection = kind_named(name).connection(c, "db.internal")

    quoted = "Zq%279%22x%20y%5Cz%24w%3B%25%40%2F%3A%23%3F%26"
    assert connection.url == url.format(q=quoted)
    parts = urlsplit(connection.url)
    assert (parts.hostname, parts.port) == ("db.internal", kind_named(name).default_port)
    assert unquote(parts.password or "") == PASSWORD
    assert connection.variables()["PASSWORD"] == PASSWORD
    assert connection.variables()["PORT"] == str(kind_named(name).default_port)


@given(password=st.text(min_size=1, max_size=40), user=st.text(min_size=1, max_size=20))
def test_any_password_and_user_survive_the_url(password: str, user: str) -> None:
    for kind in KINDS.values():
        c = Credentials(user=user, password=password, database="d b")
        parts = urlsplit(kind.connection(c, "h", 1234).url)
        assert unquote(parts.password or "") == password
        assert parts.port == 1234
        if kind.name != "redis":
            assert unquote(parts.username or "") == user


@pytest.mark.parametrize("name", sorted(KINDS))
def test_no_command_line_carries_a_password(name: str) -> None:
    kind = kind_named(name)
    assert not any(PASSWORD in arg for arg in kind.command(creds()))
    for command in every_exec(kind, creds()):
        for arg in command.argv:
            assert PASSWORD not in arg, (command.argv, arg)
            assert NEW_PASSWORD not in arg, (command.argv, arg)


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("postgres", "PGPASSWORD"),
        ("mysql", "MYSQL_PWD"),
        ("mariadb", "MYSQL_PWD"),
        ("redis", "REDISCLI_AUTH"),
    ],
)
def test_the_password_travels_in_the_environment(name: str, variable: str) -> None:
    kind = kind_named(name)
    c = creds()
    for command in (kind.health_check(c), kind.dump(c), kind.check(c)):
        assert command.env[variable] == PASSWORD


def test_mongodb_commands_read_the_password_from_their_environment() -> None:
    kind = kind_named("mongodb")
    c = creds()
    check = kind.check(c)
    assert check.argv[:5] == ("mongosh", "--quiet", "--norc", "--nodb", "--eval")
    assert unquote(urlsplit(check.env["MONGO_URL"]).password or "") == PASSWORD
    dump = kind.dump(c)
    assert dump.argv[:2] == ("sh", "-c")
    assert "mongodump" in dump.argv
    assert "--archive" in dump.argv
    assert "--db=appdb" in dump.argv
    # a JSON string is a YAML double-quoted scalar: the tools' config file reads it back
    assert dump.env["MONGO_TOOLS_CONFIG"] == 'password: "Zq\'9\\"x y\\\\z$w;%@/:#?&"\n'
    assert "--drop" in kind.restore(c).argv
    rotate = kind.rotate_password(c, NEW_PASSWORD)
    assert rotate.env["MONGO_NEW_PASSWORD"] == NEW_PASSWORD
    assert "changeUserPassword" in rotate.argv[-1]


def test_rotation_sends_the_new_password_on_stdin_quoted_for_its_server() -> None:
    c = creds()
    postgres = kind_named("postgres").rotate_password(c, NEW_PASSWORD)
    assert (
        postgres.stdin.decode() == f'ALTER ROLE "app" WITH PASSWORD {pg_literal(NEW_PASSWORD)};\n'
    )
    assert pg_literal("it's \\ fine") == "'it''s \\ fine'"
    mariadb = kind_named("mariadb").rotate_password(c, NEW_PASSWORD)
    assert mariadb.stdin.decode() == (
        f"ALTER USER 'app'@'%' IDENTIFIED BY {mysql_literal(NEW_PASSWORD)};\n"
    )
    assert mysql_literal("it's \\ fine") == "'it''s \\\\ fine'"
    assert mariadb.env["MYSQL_PWD"] == PASSWORD  # as root
    redis = kind_named("redis").rotate_password(c, NEW_PASSWORD)
    assert redis.stdin == NEW_PASSWORD.encode()
    assert redis.env["REDISCLI_AUTH"] == PASSWORD
    assert "redis-cli -x CONFIG SET requirepass" in redis.argv[-1]


def test_mysql_and_mariadb_differ_in_tool_names_and_the_gtid_option() -> None:
    c = creds()
    mysql, mariadb = kind_named("mysql"), kind_named("mariadb")
    assert mysql.dump(c).argv[0] == "mysqldump"
    assert mariadb.dump(c).argv[0] == "mariadb-dump"
    assert mysql.health_check(c).argv[0] == "mysqladmin"
    assert mariadb.health_check(c).argv[0] == "mariadb-admin"
    assert mysql.restore(c).argv[0] == "mysql"
    assert mariadb.restore(c).argv[0] == "mariadb"
    assert "--set-gtid-purged=OFF" in mysql.dump(c).argv
    assert "--set-gtid-purged=OFF" not in mariadb.dump(c).argv
    for kind in (mysql, mariadb):
        assert "--single-transaction" in kind.dump(c).argv
        assert kind.dump(c).argv[-1] == "appdb"


def test_postgres_dumps_custom_format_and_restores_atomically() -> None:
    kind, c = kind_named("postgres"), creds()
    assert kind.dump(c).argv[0] == "pg_dump"
    assert "--format=custom" in kind.dump(c).argv
    restore = kind.restore(c).argv
    assert restore[0] == "pg_restore"
    assert {"--no-owner", "--single-transaction", "--exit-on-error"} <= set(restore)
    assert kind.health_check(c).argv[0] == "pg_isready"


def test_only_redis_restores_by_placing_a_file_before_the_start() -> None:
    for kind in KINDS.values():
        if kind.name == "redis":
            assert kind.restore_mode == "file_before_start"
            assert kind.restore_file == f"{kind.data_dir}/dump.rdb"
            assert kind.password_read_at_start
        else:
            assert kind.restore_mode == "stream_into_running"
            assert not kind.password_read_at_start


def test_postgres_check_output_parses_into_exact_counts() -> None:
    counts = kind_named("postgres").parse_check((CAPTURED / "postgres.check").read_bytes())
    assert counts == {
        "billing.invoices": 12,
        'public."Odd ""Name""; with space"': 37,
        "public.empty_one": 0,
        "public.items": 250,
    }


@pytest.mark.parametrize("name", ["mysql", "mariadb"])
def test_mariadb_check_output_parses_into_exact_counts(name: str) -> None:
    counts = kind_named(name).parse_check((CAPTURED / "mariadb.check").read_bytes())
    assert counts == {"items": 250, "odd `name`; with 'space'": 37, "empty_one": 0}


def test_redis_check_output_parses_into_the_key_count() -> None:
    assert REDIS.parse_check((CAPTURED / "redis.check").read_bytes()) == {"keys": 303}
    assert REDIS.parse_check(b"(integer) 42\n") == {"keys": 42}  # as told to a terminal


def test_mongodb_check_output_parses_into_collection_counts() -> None:
    # what print(JSON.stringify(counts)) writes (a sample: no MongoDB server runs here)
    output = b'{"orders":12,"users":3,"empty":0}\n'
    assert kind_named("mongodb").parse_check(output) == {"orders": 12, "users": 3, "empty": 0}


def test_an_empty_database_counts_nothing() -> None:
    assert kind_named("postgres").parse_check(b"{}\n") == {}
    assert kind_named("mariadb").parse_check(b"{}\n") == {}


@pytest.mark.parametrize(
    ("name", "output"),
    [
        ("redis", b"NOAUTH Authentication required.\n"),
        ("redis", b""),
        ("postgres", b""),
        ("postgres", b"psql: error: connection refused\n"),
        ("mariadb", b'{"items": -1}\n'),
        ("mariadb", b'{"items": true}\n'),
        ("mongodb", b"[1, 2]\n"),
    ],
)
def test_a_check_that_did_not_count_is_an_error_not_zero(name: str, output: bytes) -> None:
    with pytest.raises(ValueError, match=r"check printed|answered"):
        kind_named(name).parse_check(output)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        ((CAPTURED / "postgres.head").read_bytes(), "postgres"),
        ((CAPTURED / "mariadb.head").read_bytes(), "mariadb"),
        ((CAPTURED / "redis.head").read_bytes(), "redis"),
        (MYSQL_84_HEAD, "mysql"),
        (MONGO_ARCHIVE_HEAD, "mongodb"),
        (b"", None),
        (b"\x1f\x8b\x08\x00", None),  # gzip: not a dump of ours
        (b"/*M!999999\\- enable the sandbox mode */\nDROP TABLE x;\n", None),
        (b"-- just some SQL\n-- MySQL dump\n", None),
    ],
)
def test_a_backup_tells_its_kind_by_its_first_bytes(head: bytes, kind: str | None) -> None:
    assert len(head) <= HEAD_BYTES
    assert detect_kind(head) == kind


def test_a_backup_of_another_kind_is_refused_before_restoring() -> None:
    pg_head = (CAPTURED / "postgres.head").read_bytes()
    mariadb_head = (CAPTURED / "mariadb.head").read_bytes()
    assert refusal(kind_named("postgres"), pg_head) is None
    assert refusal(kind_named("redis"), pg_head) == (
        "the backup was taken from a postgres database; this one is redis"
    )
    # MariaDB reads MySQL's dumps; MySQL's client refuses MariaDB's sandbox-mode first line
    assert refusal(kind_named("mariadb"), MYSQL_84_HEAD) is None
    assert refusal(kind_named("mysql"), mariadb_head) is not None
    assert "no known format" in (refusal(kind_named("mongodb"), b"garbage") or "")


BODY = b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfe\x00" + b"\x00\x03key\x05value" * 8
RDB = BODY + b"\xff" + bytes(range(1, 9))
# an RDB whose checksum happens to be hex digits still ends in 0xFF and 8 bytes: kept whole
HEX_CHECKSUM_RDB = BODY + b"0123" + b"\xff" + b"abcdef01"
END_MARK = b"0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("stream", "placed"),
    [(RDB, RDB), (HEX_CHECKSUM_RDB, HEX_CHECKSUM_RDB), (RDB + END_MARK, RDB)],
    ids=["an RDB as it is", "hex digits in the checksum", "redis-cli 7.0's end mark cut off"],
)
def test_the_redis_restore_places_the_rdb_as_data_and_aof_base(
    tmp_path: Path, stream: bytes, placed: bytes
) -> None:
    # the script the restore runs in the container, run by this machine's sh on a directory
    kind = dataclasses.replace(REDIS, data_dir=str(tmp_path))
    (tmp_path / "appendonlydir").mkdir()
    (tmp_path / "appendonlydir" / "stale.aof").write_bytes(b"old")
    command = kind.restore(Credentials("default", PASSWORD, "0"))

    subprocess.run(list(command.argv), input=stream, check=True)

    assert (tmp_path / "dump.rdb").read_bytes() == placed
    assert (tmp_path / "appendonlydir" / "appendonly.aof.1.base.rdb").read_bytes() == placed
    assert (tmp_path / "appendonlydir" / "appendonly.aof.manifest").read_text() == (
        "file appendonly.aof.1.base.rdb seq 1 type b\n"
    )
    assert not (tmp_path / "appendonlydir" / "stale.aof").exists()
