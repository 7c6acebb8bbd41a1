"""MySQL and MariaDB as their official images run them. One definition serves both: they differ
in the variables' prefix, the tools' names (mariadb:11 images have only the mariadb-* names),
and a few options (see `MYSQL` and `MARIADB` below, and docs/ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass

from rivetr.domain.database_kinds.base import (
    Artifact,
    Connection,
    Credentials,
    DatabaseKind,
    Exec,
    url_connection,
)

# root over TCP to 127.0.0.1: the images' first start runs a temporary server on the socket
# alone (--skip-networking), which must not pass for the real one; both images make root@'%'.
ROOT = ("--host=127.0.0.1", "--user=root")

# Exact counts of every table in one call: a generated UNION ALL of `SELECT count(*)` (names in
# backticks, backticks doubled), run as a prepared statement, folded into one JSON object so a
# name with a tab or a newline stays on one line.
COUNT_ROWS = """
SET SESSION group_concat_max_len = 4294967295;
SELECT GROUP_CONCAT(
  CONCAT('SELECT ', QUOTE(table_name), ' AS t, COUNT(*) AS n FROM `',
         REPLACE(table_name, '`', '``'), '`')
  SEPARATOR ' UNION ALL ') INTO @counts
FROM information_schema.tables
WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE';
SET @counts = IF(@counts IS NULL, 'SELECT ''{}''',
  CONCAT('SELECT JSON_OBJECTAGG(t, n) FROM (', @counts, ') AS c'));
PREPARE counts FROM @counts;
EXECUTE counts;
DEALLOCATE PREPARE counts;
""".strip()


def sql_literal(value: str) -> str:
    """`value` as a MySQL string literal (backslash is an escape there unless the server runs
    with NO_BACKSLASH_ESCAPES, which neither image does)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class MySqlFamily(DatabaseKind):
    """MySQL or MariaDB. The root password runs every command; apps get the user's.

    Attributes:
        variables: The prefix of the image's variables ("MYSQL" or "MARIADB").
        client: The SQL client's name; `dump_tool` and `admin_tool` the others.
        dump_options: Options only this kind's dump tool knows.
    """

    variables: str = "MYSQL"
    client: str = "mysql"
    dump_tool: str = "mysqldump"
    admin_tool: str = "mysqladmin"
    dump_options: tuple[str, ...] = ()

    def container_env(self, credentials: Credentials) -> dict[str, str]:
        prefix = self.variables
        return {
            f"{prefix}_ROOT_PASSWORD": credentials.root_password,
            f"{prefix}_DATABASE": credentials.database,
            f"{prefix}_USER": credentials.user,
            f"{prefix}_PASSWORD": credentials.password,
        }

    def _as_root(self, credentials: Credentials, *argv: str, stdin: bytes = b"") -> Exec:
        return Exec(argv=argv, env={"MYSQL_PWD": credentials.root_password}, stdin=stdin)

    def health_check(self, credentials: Credentials) -> Exec:
        return self._as_root(credentials, self.admin_tool, *ROOT, "ping", "--silent")

    def connection(
        self, credentials: Credentials, host: str, port: int | None = None
    ) -> Connection:
        # mysql:// for MariaDB too: it is the scheme apps' drivers (mysql2, PyMySQL, Prisma) read
        return url_connection("mysql", credentials, host, port or self.default_port)

    def dump(self, credentials: Credentials) -> Exec:
        # no --databases: the dump names no database, so it restores into any
        return self._as_root(
            credentials, self.dump_tool, *ROOT, "--single-transaction", "--routines",
            "--triggers", "--events", "--hex-blob", "--default-character-set=utf8mb4",
            *self.dump_options, credentials.database,
        )  # fmt: skip

    def restore(self, credentials: Credentials) -> Exec:
        return self._as_root(
            credentials, self.client, *ROOT, "--default-character-set=utf8mb4",
            credentials.database,
        )  # fmt: skip

    def check(self, credentials: Credentials) -> Exec:
        return self._as_root(
            credentials, self.client, *ROOT, "--batch", "--skip-column-names", "--raw",
            f"--execute={COUNT_ROWS}", credentials.database,
        )  # fmt: skip

    def rotate_password(self, credentials: Credentials, new_password: str) -> Exec:
        statement = (
            f"ALTER USER {sql_literal(credentials.user)}@'%'"
            f" IDENTIFIED BY {sql_literal(new_password)};\n"
        )
        return self._as_root(credentials, self.client, *ROOT, stdin=statement.encode())


SQL_DUMP = Artifact(".sql", "application/sql")

MYSQL = MySqlFamily(
    name="mysql",
    default_image="mysql:8.4",
    default_port=3306,
    data_dir="/var/lib/mysql",
    artifact=SQL_DUMP,
    restore_mode="stream_into_running",
    # a MariaDB dump starts with a sandbox-mode line MySQL's client refuses
    restores_from=frozenset({"mysql"}),
    # with GTIDs on, a dump would carry SET @@GLOBAL.GTID_PURGED, which a server that has run
    # transactions of its own refuses; MariaDB's dump tool has no such option
    dump_options=("--set-gtid-purged=OFF",),
)

MARIADB = MySqlFamily(
    name="mariadb",
    default_image="mariadb:11",
    default_port=3306,
    data_dir="/var/lib/mysql",
    artifact=SQL_DUMP,
    restore_mode="stream_into_running",
    restores_from=frozenset({"mariadb", "mysql"}),
    variables="MARIADB",
    client="mariadb",
    dump_tool="mariadb-dump",
    admin_tool="mariadb-admin",
)
