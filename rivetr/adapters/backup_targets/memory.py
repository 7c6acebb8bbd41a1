"""The in-memory twin of a backup target, for unit tests: it keeps the port's promises (an
object appears only once complete) and can be given a capacity to play a full disk."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from rivetr.adapters.backup_targets.base import (
    Digest,
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    StoredObject,
    TargetRefused,
    check_key,
)


@dataclass(frozen=True)
class _Held:
    data: bytes
    sha256: str
    modified: datetime


class InMemoryTarget:
    """Objects in a dict; `capacity` (bytes, all objects and the upload in progress) makes a
    write that would exceed it fail as a full disk does."""

    def __init__(self, capacity: int | None = None) -> None:
        self._objects: dict[str, _Held] = {}
        self._capacity = capacity
        # The most bytes of one upload held at once besides what is stored (the port's memory
        # bound); the twin stores as it receives, so only the chunk in hand counts.
        self.peak_buffered_bytes = 0

    @property
    def description(self) -> str:
        return "memory"

    def _used(self) -> int:
        return sum(len(held.data) for held in self._objects.values())

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        if check_key(key) in self._objects:
            raise ObjectExists(f"a backup object {key!r} already exists on {self.description}")
        digest = Digest()
        parts: builtins.list[bytes] = []
        async for chunk in chunks:
            self.peak_buffered_bytes = max(self.peak_buffered_bytes, len(chunk))
            if self._capacity is not None and self._used() + digest.size + len(chunk) > (
                self._capacity
            ):
                raise TargetRefused(f"no space left on {self.description}")
            digest.update(chunk)
            parts.append(chunk)
        stored = digest.stored(key)
        assert stored.sha256 is not None
        self._objects[key] = _Held(b"".join(parts), stored.sha256, datetime.now(UTC))
        return stored

    async def get(self, key: str) -> AsyncIterator[bytes]:
        held = self._objects.get(key)
        if held is None:
            raise ObjectMissing(f"no backup object {key!r} on {self.description}")
        for start in range(0, len(held.data), 1 << 16):
            yield held.data[start : start + (1 << 16)]

    async def stat(self, key: str) -> StoredObject | None:
        held = self._objects.get(key)
        return None if held is None else StoredObject(key, len(held.data), held.sha256)

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        return [
            ObjectInfo(key, len(held.data), held.modified)
            for key, held in sorted(self._objects.items())
            if key.startswith(prefix)
        ]

    async def delete(self, key: str) -> None:
        self._objects.pop(key, None)
