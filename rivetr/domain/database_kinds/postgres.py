"""PostgreSQL as the official `postgres` image runs it: its variables, `pg_isready`, a custom
format dump restored with `pg_restore`, and exact row counts per table."""

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

# Every command goes over TCP to 127.0.0.1 with the password: the image's first start runs a
# temporary server on the socket alone, which must not pass for the real one, and the socket's
# `trust` is the official image's choice, not something to rely on.
LOCAL = ("--host=127.0.0.1",)

# Exact counts (never the planner's estimates) of every table, in one statement: query_to_xml
# runs each generated `SELECT count(*)`; format('%I') quotes any name; JSON keeps a name with a
# tab or a newline on one line.
COUNT_ROWS = """
SELECT coalesce(json_object_agg(t.name, t.n ORDER BY t.name), '{}')
FROM (
  SELECT format('%I.%I', table_schema, table_name) AS name,
         (xpath('/row/n/text()', query_to_xml(
            format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
            false, true, '')))[1]::text::bigint AS n
  FROM information_schema.tables
  WHERE table_type = 'BASE TABLE'
    AND table_schema NOT IN ('pg_catalog', 'information_schema')
) AS t
""".strip()


def sql_literal(value: str) -> str:
    """`value` as an SQL string literal (standard_conforming_strings, the default since 9.1)."""
    return "'" + value.replace("'", "''") + "'"


def sql_name(value: str) -> str:
    """`value` as a quoted SQL identifier."""
    return '"' + value.replace('"', '""') + '"'


@dataclass(frozen=True)
class Postgres(DatabaseKind):
    """PostgreSQL: POSTGRES_USER is the database's owner and its superuser."""

    def container_env(self, credentials: Credentials) -> dict[str, str]:
        return {
            "POSTGRES_USER": credentials.user,
            "POSTGRES_PASSWORD": credentials.password,
            "POSTGRES_DB": credentials.database,
        }

    def _client(self, credentials: Credentials, program: str, *args: str) -> Exec:
        return Exec(
            argv=(
                program,
                *LOCAL,
                f"--username={credentials.user}",
                f"--dbname={credentials.database}",
                *args,
            ),
            env={"PGPASSWORD": credentials.password},
        )

    def health_check(self, credentials: Credentials) -> Exec:
        return self._client(credentials, "pg_isready")

    def connection(
        self, credentials: Credentials, host: str, port: int | None = None
    ) -> Connection:
        return url_connection("postgres", credentials, host, port or self.default_port)

    def dump(self, credentials: Credentials) -> Exec:
        return self._client(credentials, "pg_dump", "--format=custom")

    def restore(self, credentials: Credentials) -> Exec:
        # owners and grants name the source server's roles, which a fresh server lacks; one
        # transaction, stopping at the first error, leaves nothing half restored
        return self._client(
            credentials,
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
        )

    def check(self, credentials: Credentials) -> Exec:
        return self._client(
            credentials, "psql", "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
            "--set=ON_ERROR_STOP=1", f"--command={COUNT_ROWS}",
        )  # fmt: skip

    def rotate_password(self, credentials: Credentials, new_password: str) -> Exec:
        statement = (
            f"ALTER ROLE {sql_name(credentials.user)} WITH PASSWORD {sql_literal(new_password)};\n"
        )
        command = self._client(
            credentials, "psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"
        )
        return Exec(command.argv, command.env, statement.encode())


POSTGRES = Postgres(
    name="postgres",
    default_image="postgres:16-alpine",
    default_port=5432,
    data_dir="/var/lib/postgresql/data",
    artifact=Artifact(".dump", "application/octet-stream"),
    restore_mode="stream_into_running",
    restores_from=frozenset({"postgres"}),
)
