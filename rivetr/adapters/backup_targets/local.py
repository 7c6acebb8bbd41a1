"""A backup target in a local directory (a disk, a mounted NAS): each object is written beside
its final name and moved there, with its sha256 in a `sha256sum`-style sidecar, once complete."""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from functools import partial as partial_call
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from rivetr.adapters.backup_targets.base import (
    PARTIAL_SUFFIX,
    SHA256_SUFFIX,
    Digest,
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    StoredObject,
    TargetRefused,
    TargetUnavailable,
    check_key,
    is_own_key,
)

READ_CHUNK = 1 << 20
T = TypeVar("T")


class LocalDirectoryTarget:
    """Objects as files under `path`, which must exist: a missing directory is refused rather
    than created, so an unmounted disk never fills the system's own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peak_buffered_bytes = 0

    @property
    def description(self) -> str:
        return f"local directory {self.path}"

    async def _io(self, call: Callable[[], T]) -> T:
        """Run one blocking file operation in a worker thread, its OSError translated once."""
        try:
            return await anyio.to_thread.run_sync(call)
        except OSError as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: OSError) -> Exception:
        if isinstance(exc, FileNotFoundError):
            return ObjectMissing(f"no backup object at {exc.filename}")
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return TargetRefused(f"no space left on {self.description}")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return TargetRefused(f"permission denied on {self.description}")
        if exc.errno == errno.EROFS:
            return TargetRefused(f"{self.description} is on a read-only filesystem")
        return TargetUnavailable(f"{self.description}: {exc.strerror or exc}")

    def _file(self, key: str) -> Path:
        return self.path / check_key(key)

    def _check_root(self) -> None:
        if not self.path.is_dir():
            raise TargetRefused(f"{self.description} does not exist (is its disk mounted?)")

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        final = self._file(key)

        def prepare() -> None:
            # In a worker thread too: a stat of a hung network mount must not block the loop.
            self._check_root()
            if final.exists():
                raise ObjectExists(f"a backup object already exists at {final}")
            final.parent.mkdir(parents=True, exist_ok=True)

        await self._io(prepare)
        partial = final.with_name(f"{final.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        sidecar = final.with_name(final.name + SHA256_SUFFIX)
        fd = await self._io(lambda: os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        digest = Digest()
        try:
            try:
                async for chunk in chunks:
                    self.peak_buffered_bytes = max(self.peak_buffered_bytes, len(chunk))
                    digest.update(chunk)
                    await self._io(partial_call(_write_all, fd, chunk))
                await self._io(lambda: os.fsync(fd))
            finally:
                os.close(fd)
            stored = digest.stored(key)
            # The sidecar first: an object on disk always has its sha256 beside it.
            line = f"{stored.sha256}  {final.name}\n".encode()
            await self._io(lambda: _write_atomically(sidecar, line))
            await self._io(lambda: _replace_durably(partial, final))
            return stored
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))
            raise

    async def get(self, key: str) -> AsyncIterator[bytes]:
        file = self._file(key)
        handle = await self._io(lambda: file.open("rb"))
        try:
            while chunk := await self._io(lambda: handle.read(READ_CHUNK)):
                yield chunk
        finally:
            handle.close()

    async def stat(self, key: str) -> StoredObject | None:
        file = self._file(key)

        def read() -> StoredObject | None:
            try:
                size = file.stat().st_size
            except FileNotFoundError:
                return None
            try:
                sha256 = file.with_name(file.name + SHA256_SUFFIX).read_text().split()[0]
            except (FileNotFoundError, IndexError):
                sha256 = None
            return StoredObject(key, size, sha256)

        return await self._io(read)

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        def walk() -> builtins.list[ObjectInfo]:
            self._check_root()
            found = []
            for directory, _, files in os.walk(self.path):
                for name in files:
                    file = Path(directory) / name
                    key = file.relative_to(self.path).as_posix()
                    if key.startswith(prefix) and not is_own_key(key):
                        try:
                            info = file.stat()
                        except FileNotFoundError:
                            continue  # deleted while the listing ran

                        modified = datetime.fromtimestamp(info.st_mtime, UTC)
                        found.append(ObjectInfo(key, info.st_size, modified))
            return sorted(found, key=lambda info: info.key)

        return await self._io(walk)

    async def delete(self, key: str) -> None:
        file = self._file(key)

        def remove() -> None:
            file.unlink(missing_ok=True)
            file.with_name(file.name + SHA256_SUFFIX).unlink(missing_ok=True)

        await self._io(remove)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    try:
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _replace_durably(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _replace_durably(source: Path, target: Path) -> None:
    """Move `source` to `target` and fsync the directory, so the rename survives a power cut."""
    os.replace(source, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def sweep_partials(root: Path, backup_ids: Iterable[str]) -> builtins.list[Path]:
    """Remove the half-written files under `root` of the backups a killed run left unfinished
    (their names hold the backup's id); returns them. Only those: another `.partial` may be an
    object being written by another Rivetr sharing the directory."""
    ids = tuple(backup_ids)
    if not ids or not root.is_dir():
        return []
    swept = []
    for partial in root.rglob(f"*{PARTIAL_SUFFIX}"):
        if any(backup_id in partial.name for backup_id in ids):
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
                swept.append(partial)
    return swept
