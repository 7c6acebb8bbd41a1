"""What every kind of managed database is defined by: its credentials, the commands run inside
its container (argv, environment and standard input), the connection apps are given, and the
shape of its backups. Pure data and pure functions: the runtime carries the commands out."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

KindName = Literal["postgres", "mysql", "mariadb", "redis", "mongodb"]
# How a backup goes back in: streamed into the running server's client, or written as the data
# file before the server starts (Redis loads its RDB only at start).
RestoreMode = Literal["stream_into_running", "file_before_start"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who apps connect as, and the database they use.

    Attributes:
        user: The application user (for MongoDB, the root user apps authenticate as).
        password: That user's password.
        database: The database apps use (Redis: its number, "0").
        root_password: The administrator's password for kinds that have one apart from the
            user's (MySQL, MariaDB); empty elsewhere.
    """

    user: str
    password: str
    database: str
    root_password: str = ""


@dataclass(frozen=True, slots=True)
class Exec:
    """A command run inside a database's container.

    Attributes:
        argv: The program and its arguments. Never a secret: `ps` and the engine show argv.
        env: Variables the command needs, secrets included (MYSQL_PWD, REDISCLI_AUTH, ...).
        stdin: Bytes written to its standard input, then closed; empty for none. A restore
            reads the backup from standard input instead: the caller streams it there.
    """

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes = b""


@dataclass(frozen=True, slots=True)
class Connection:
    """How an app reaches a database: the URL and its parts, as `${{db.URL}}` and the others
    resolve."""

    url: str
    host: str
    port: int
    user: str
    password: str
    database: str

    def variables(self) -> dict[str, str]:
        """The parts by the names apps reference them with (URL, HOST, PORT, ...)."""
        return {
            "URL": self.url,
            "HOST": self.host,
            "PORT": str(self.port),
            "USER": self.user,
            "PASSWORD": self.password,
            "DATABASE": self.database,
        }


@dataclass(frozen=True, slots=True)
class Artifact:
    """A backup file's kind as stored: the file name's extension and its content type."""

    extension: str
    content_type: str


@dataclass(frozen=True)
class DatabaseKind(ABC):
    """One kind of database: the facts about its official image, and the commands for its
    health check, connection, dump, restore, check, and password rotation.

    Attributes:
        name: The kind's name.
        default_image: The official image used unless another is set.
        default_port: The port the server listens on inside the container.
        data_dir: Where the server keeps its data: the volume's mount path.
        artifact: How a backup of this kind is stored.
        restore_mode: Whether a backup streams into the running server, or is written as the
            data file (`restore_file`) before the server starts.
        restores_from: The backup formats (`detect_kind`'s answers) this kind takes back.
        restore_file: For "file_before_start": where the backup goes.
        password_read_at_start: The server takes its password from the container's settings
            at every start (Redis), not only at the first; a rotated password then survives a
            restart only when the container is made anew with the new credentials.
    """

    name: KindName
    default_image: str
    default_port: int
    data_dir: str
    artifact: Artifact
    restore_mode: RestoreMode
    restores_from: frozenset[KindName]
    restore_file: str = ""
    password_read_at_start: bool = False

    @abstractmethod
    def container_env(self, credentials: Credentials) -> dict[str, str]:
        """The variables the official image reads on its first start."""

    def command(self, credentials: Credentials) -> tuple[str, ...]:
        """The container's command; empty to keep the image's own."""
        return ()

    @abstractmethod
    def health_check(self, credentials: Credentials) -> Exec:
        """A command that exits 0 once the server accepts this kind's clients."""

    @abstractmethod
    def connection(
        self, credentials: Credentials, host: str, port: int | None = None
    ) -> Connection:
        """What apps are given to connect through `host` (the name they reach it by)."""

    @abstractmethod
    def dump(self, credentials: Credentials) -> Exec:
        """A command writing the whole backup to its standard output, nothing else there."""

    @abstractmethod
    def restore(self, credentials: Credentials) -> Exec:
        """A command reading a backup from its standard input: into the running server for
        "stream_into_running"; for "file_before_start", run in a one-off container of the
        same image with the volume mounted, before the server starts."""

    @abstractmethod
    def check(self, credentials: Credentials) -> Exec:
        """A command whose output `parse_check` reads into counts."""

    def parse_check(self, output: bytes) -> dict[str, int]:
        """The counts `check` printed: equal for a source at dump time and its restored copy.
        Unless a kind says otherwise, its check prints one JSON object of counts.

        Raises:
            ValueError: The output is not what `check` prints.
        """
        return parse_counts(output)

    @abstractmethod
    def rotate_password(self, credentials: Credentials, new_password: str) -> Exec:
        """A command setting the user's password to `new_password` in the running server
        (the new password travels in its environment or standard input, never its argv)."""


def url_connection(
    scheme: str, credentials: Credentials, host: str, port: int, query: str = ""
) -> Connection:
    """The connection to `credentials.database` as `credentials.user`, in a URL of `scheme`
    ("postgres://user:pass@host:5432/db") with `query` appended."""
    user, password, db = credentials.user, credentials.password, credentials.database
    url = f"{scheme}://{url_part(user)}:{url_part(password)}@{host}:{port}/{url_part(db)}{query}"
    return Connection(url, host, port, user, password, db)


def url_part(value: str) -> str:
    """`value` quoted for a URL's user, password or path: every reserved character escaped."""
    return quote(value, safe="")


def parse_counts(output: bytes) -> dict[str, int]:
    """The JSON object of whole numbers on the last line of `output`.

    Raises:
        ValueError: There is none.
    """
    lines = [line for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        raise ValueError("the check printed nothing")
    try:
        counts = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the check printed no JSON object: {lines[-1][:200]!r}") from exc
    if not isinstance(counts, dict) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()
    ):
        raise ValueError(f"the check printed no object of counts: {lines[-1][:200]!r}")
    return {str(name): int(n) for name, n in counts.items()}
