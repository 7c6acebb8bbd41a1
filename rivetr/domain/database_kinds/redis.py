"""Redis as the official `redis` image runs it: the password and the append-only file in the
server's arguments, an RDB snapshot as the backup, and the RDB placed before a start to restore."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from rivetr.domain.database_kinds.base import (
    Artifact,
    Connection,
    Credentials,
    DatabaseKind,
    Exec,
    url_part,
)

# The official image reads no variable for a password: a shell puts it into redis-server's
# arguments, so that the container's command (which `docker inspect` and PID 1's command line
# show) holds only "$REDIS_PASSWORD"; redis-server then overwrites its own process title. The
# image's entrypoint, called again, starts the server as the redis user, as it does by default.
START = 'exec docker-entrypoint.sh redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes'
# redis-cli exits 0 after an error reply (NOAUTH, LOADING): the reply itself is compared
PING = '[ "$(redis-cli ping)" = PONG ]'
# Written into the data directory before the server starts, the backup becomes its data:
# - redis-cli 7.0 writing to stdout leaves the transfer's end mark (40 hex digits) after the RDB,
#   where a file cannot be cut; an RDB itself ends in 0xFF and an 8-byte checksum, never in 40
#   hex digits, so a tail of 40 hex digits is that mark and is cut off;
# - with appendonly on, Redis loads the append-only files and ignores dump.rdb; since 7.0 the AOF
#   may start from an RDB base, so the backup becomes both, one file hard-linked.
PLACE_RDB = (
    "rm -rf appendonlydir appendonly.aof dump.rdb; cat > dump.rdb; "
    "size=$(($(wc -c < dump.rdb))); "
    'if [ "$size" -gt 49 ] && [ "$(tail -c 40 dump.rdb | tr -d 0-9a-f | wc -c)" -eq 0 ]; then '
    "dd if=/dev/null of=dump.rdb bs=1 seek=$((size - 40)) 2>/dev/null; fi; "
    "mkdir appendonlydir; ln dump.rdb appendonlydir/appendonly.aof.1.base.rdb; "
    "echo 'file appendonly.aof.1.base.rdb seq 1 type b' > appendonlydir/appendonly.aof.manifest"
)
SET_PASSWORD = '[ "$(redis-cli -x CONFIG SET requirepass)" = OK ]'


@dataclass(frozen=True)
class Redis(DatabaseKind):
    """Redis: one password (the `default` user's), database 0."""

    def container_env(self, credentials: Credentials) -> dict[str, str]:
        return {"REDIS_PASSWORD": credentials.password}

    def command(self, credentials: Credentials) -> tuple[str, ...]:
        return ("sh", "-c", START)

    def _cli(self, credentials: Credentials, *argv: str, stdin: bytes = b"") -> Exec:
        return Exec(argv=argv, env={"REDISCLI_AUTH": credentials.password}, stdin=stdin)

    def health_check(self, credentials: Credentials) -> Exec:
        return self._cli(credentials, "sh", "-c", PING)

    def connection(
        self, credentials: Credentials, host: str, port: int | None = None
    ) -> Connection:
        port = port or self.default_port
        password = credentials.password
        url = f"redis://default:{url_part(password)}@{host}:{port}/{credentials.database}"
        return Connection(url, host, port, "default", password, credentials.database)

    def dump(self, credentials: Credentials) -> Exec:
        # the server's snapshot through the replication protocol; "-" is stdout (redis-cli 7.0
        # and later); its progress lines go to stderr
        return self._cli(credentials, "redis-cli", "--rdb", "-")

    def restore(self, credentials: Credentials) -> Exec:
        return Exec(argv=("sh", "-c", f"set -e; cd {shlex.quote(self.data_dir)}; {PLACE_RDB}"))

    def check(self, credentials: Credentials) -> Exec:
        return self._cli(credentials, "redis-cli", "DBSIZE")

    def parse_check(self, output: bytes) -> dict[str, int]:
        text = output.decode("utf-8", "replace").strip()
        # redis-cli prints "(integer) 42" to a terminal, "42" otherwise
        number = text.removeprefix("(integer) ")
        if not number.isdigit():
            raise ValueError(f"DBSIZE answered {text[:200]!r}")
        return {"keys": int(number)}

    def rotate_password(self, credentials: Credentials, new_password: str) -> Exec:
        # -x: the last argument is read from stdin, so the new password is on no command line
        return self._cli(credentials, "sh", "-c", SET_PASSWORD, stdin=new_password.encode())


REDIS = Redis(
    name="redis",
    default_image="redis:7-alpine",
    default_port=6379,
    data_dir="/data",
    artifact=Artifact(".rdb", "application/octet-stream"),
    restore_mode="file_before_start",
    restores_from=frozenset({"redis"}),
    restore_file="/data/dump.rdb",
    password_read_at_start=True,
)
