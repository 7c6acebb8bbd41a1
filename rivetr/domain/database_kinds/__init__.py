"""The kinds of managed database (PostgreSQL, MySQL, MariaDB, Redis, MongoDB): each one's image,
port, data directory, variables, and the commands that check, dump, restore and verify it, and
telling a backup's kind from its first bytes."""

from __future__ import annotations

from rivetr.domain.database_kinds.base import (
    Artifact,
    Connection,
    Credentials,
    DatabaseKind,
    Exec,
    KindName,
    RestoreMode,
)
from rivetr.domain.database_kinds.mongodb import MONGODB
from rivetr.domain.database_kinds.mysql import MARIADB, MYSQL
from rivetr.domain.database_kinds.postgres import POSTGRES
from rivetr.domain.database_kinds.redis import REDIS

__all__ = [
    "HEAD_BYTES",
    "KINDS",
    "Artifact",
    "Connection",
    "Credentials",
    "DatabaseKind",
    "Exec",
    "KindName",
    "RestoreMode",
    "detect_kind",
    "kind_named",
    "refusal",
]

KINDS: dict[KindName, DatabaseKind] = {
    kind.name: kind for kind in (POSTGRES, MYSQL, MARIADB, REDIS, MONGODB)
}

# bytes a backup starts with: pg_dump's custom format, an RDB file, mongodump's archive
# (0x8199e26d, little-endian)
MAGIC: tuple[tuple[bytes, KindName], ...] = (
    (b"PGDMP", "postgres"),
    (b"REDIS", "redis"),
    (b"\x6d\xe2\x99\x81", "mongodb"),
)
SQL_HEADERS: tuple[tuple[bytes, KindName], ...] = (
    (b"-- MySQL dump", "mysql"),
    (b"-- MariaDB dump", "mariadb"),
)
# What this many bytes of a backup are enough for `detect_kind` to read.
HEAD_BYTES = 512


def kind_named(name: str) -> DatabaseKind:
    """The kind called `name`.

    Raises:
        KeyError: No kind has that name.
    """
    for kind in KINDS.values():
        if kind.name == name:
            return kind
    raise KeyError(name)


def detect_kind(head: bytes) -> KindName | None:
    """The kind of database a backup was taken from, told by its first bytes (`HEAD_BYTES`
    suffice), or None when it is none of theirs.

    mysqldump's and mariadb-dump's plain SQL start with a "-- MySQL dump" or "-- MariaDB dump"
    comment; MariaDB's since 10.5.25/10.6.18/10.11.8 put a sandbox-mode line before it.
    """
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    for line in head.split(b"\n")[:2]:
        line = line.strip()
        for header, kind in SQL_HEADERS:
            if line.startswith(header):
                return kind
        if not (line.startswith(b"/*") and b"sandbox mode" in line):
            break
    return None


def refusal(kind: DatabaseKind, head: bytes) -> str | None:
    """Why a backup starting with `head` must not be restored into a database of `kind`
    (said before the live data is touched), or None when it may be."""
    found = detect_kind(head)
    if found is None:
        return f"the backup is not a {kind.name} backup: its first bytes are no known format"
    if found not in kind.restores_from:
        return f"the backup was taken from a {found} database; this one is {kind.name}"
    return None
