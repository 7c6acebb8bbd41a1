"""The backup target port: objects streamed in and out under a key, visible only once complete,
and the errors a target gives, each with a cause a user can act on."""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

# A sidecar holding an object's sha256, and the name an object is written under until complete.
# Keys ending so are the target's own: `put` refuses them and `list` never shows them.
SHA256_SUFFIX = ".sha256"
PARTIAL_SUFFIX = ".partial"
RESERVED_SUFFIXES = (SHA256_SUFFIX, PARTIAL_SUFFIX)


@dataclass(frozen=True)
class StoredObject:
    """What a target holds under `key`: its size and, when the target knows it, its sha256."""

    key: str
    size: int
    sha256: str | None


@dataclass(frozen=True)
class ObjectInfo:
    """One object as a listing shows it."""

    key: str
    size: int
    modified: datetime


class BackupTargetError(Exception):
    """A target could not do what was asked; `cause` says why in words a user understands."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class TargetUnavailable(BackupTargetError):
    """The target could not be reached (network, DNS, server error): trying later may work."""


class TargetRefused(BackupTargetError):
    """The target answered no (credentials, a missing bucket, no space, no permission): trying
    again will not help until its settings or the target change."""


class ObjectMissing(TargetRefused):
    """No complete object is stored under the key asked for."""


class ObjectExists(TargetRefused):
    """An object is already stored under the key: a backup, once stored, is never overwritten."""


@runtime_checkable
class BackupTarget(Protocol):
    """A place backups are stored, streamed in and out so no backup is ever held whole in memory.

    An object appears under its key only once `put` has written all of it: an upload that fails
    or is cancelled leaves nothing behind that `get`, `stat` or `list` would show.
    """

    @property
    def description(self) -> str:
        """Where this target stores objects, for messages (never holds a secret)."""
        ...

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        """Stream `chunks` into a new object `key`.

        A key is written once: a later upload to it, even one that would fail, cannot touch a
        stored backup. The check is made before the upload starts (S3 has no portable atomic
        create), so two uploads to one key at once are a caller's error.

        Raises:
            ObjectExists: `key` already names an object.
            TargetUnavailable, TargetRefused: the target failed; nothing was stored.
            Any exception `chunks` raises, after the partial upload is discarded.
        """
        ...

    def get(self, key: str) -> AsyncIterator[bytes]:
        """Stream the object `key` back; iterating raises `ObjectMissing` when there is none."""
        ...

    async def stat(self, key: str) -> StoredObject | None:
        """The object `key` (its sha256 when the target stored one), or None."""
        ...

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        """Every complete object whose key starts with `prefix`, sorted by key."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object `key`; a key with no object is fine."""
        ...


def check_key(key: str) -> str:
    """`key` itself when it can name an object on every target; `ValueError` otherwise."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"{key!r} cannot name a backup object")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{key!r} cannot name a backup object: empty, '.' or '..' segment")
    if key.endswith(RESERVED_SUFFIXES):
        raise ValueError(f"{key!r} ends with a suffix the target keeps for itself")
    return key


def is_own_key(key: str) -> bool:
    """Whether `key` is a target's bookkeeping (a sidecar or a partial upload), not an object."""
    return key.endswith(RESERVED_SUFFIXES)


class Digest:
    """The size and sha256 of a stream, counted as it passes."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def stored(self, key: str) -> StoredObject:
        return StoredObject(key=key, size=self.size, sha256=self._hash.hexdigest())
