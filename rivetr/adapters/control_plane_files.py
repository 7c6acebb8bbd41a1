"""The files of a control-plane backup on this machine: the log copied online with SQLite's
backup API (a consistent snapshot while `rivetr serve` writes), the certificates folder packed
as one tar and unpacked again, files streamed to and from a backup target, and the manifest
that names every object of a backup with its sha256."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tarfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio.to_thread
import msgspec

from rivetr.adapters.eventstore.base import GENESIS_HASH
from rivetr.adapters.private_files import FILE_MODE, private_dir, restrict

READ_CHUNK = 1 << 20
MANIFEST = "manifest.json"
FORMAT = 1


class ManifestFile(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # the object's name under the backup's prefix
    size: int  # of the stored bytes (encrypted, when `encrypted`)
    sha256: str
    encrypted: bool = False


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What a backup holds, written last: a backup without one is not whole."""

    format: int = FORMAT
    backup_id: str
    taken_at: str
    rivetr_version: str
    head_position: int
    head_hash: str
    files: list[ManifestFile]

    def file(self, name: str) -> ManifestFile | None:
        return next((f for f in self.files if f.name == name), None)


class ManifestError(ValueError):
    """A manifest that cannot be read (damaged, or of a newer format)."""


def encode_manifest(manifest: Manifest) -> bytes:
    return msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n"


def decode_manifest(data: bytes) -> Manifest:
    try:
        manifest = msgspec.json.decode(data, type=Manifest)
    except msgspec.DecodeError as exc:
        raise ManifestError(f"the manifest is not a control-plane backup's: {exc}") from None
    if manifest.format > FORMAT:
        raise ManifestError(
            f"the backup was made in format {manifest.format}, newer than this Rivetr reads"
            f" ({FORMAT}): restore it with the version that made it ({manifest.rivetr_version})"
        )
    return manifest


def copy_log(source: Path, destination: Path) -> tuple[int, str]:
    """Copy the log at `source` into a new file `destination` with SQLite's backup API, in one
    step: the copy is the log as one read transaction saw it, whatever is appended meanwhile
    (WAL mode lets the writer go on). Returns the copy's head: its last position and hash."""
    private_file(destination)
    reading = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(destination)
        try:
            reading.backup(copy)
            # the copy stands alone: a rollback journal, no -wal beside it to lose
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        reading.close()
    return log_head(destination)


def log_head(path: Path) -> tuple[int, str]:
    """The last position of the log at `path` and its hash (0 and the chain's start when it
    holds no event)."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        found = row.fetchone()
    finally:
        conn.close()
    return (0, GENESIS_HASH) if found is None else (int(found[0]), str(found[1]))


def private_file(path: Path) -> Path:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE))
    restrict(path, FILE_MODE)
    return path


def pack_certs(certs: Path, destination: Path) -> int:
    """Pack every regular file under `certs` (chains, keys, the ACME account key) into the tar
    `destination`; returns how many (none when there is no folder)."""
    private_file(destination)
    count = 0
    with tarfile.open(destination, "w") as archive:
        if certs.is_dir():
            for file in sorted(certs.rglob("*")):
                if file.is_file() and not file.is_symlink():
                    archive.add(file, arcname=file.relative_to(certs).as_posix(), recursive=False)
                    count += 1
    return count


def unpack_certs(archive_path: Path, certs: Path) -> int:
    """Unpack a tar `pack_certs` made into `certs`, owner-only; returns how many files. Only
    regular files under the folder are taken: links, devices and paths that would leave it are
    refused. Written by hand rather than with tar's `data` filter, which Debian 12's Python
    (3.11.2) lacks."""
    private_dir(certs)
    count = 0
    root = certs.resolve()
    with tarfile.open(archive_path, "r") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            target = (certs / member.name).resolve()
            if member.name.startswith("/") or not target.is_relative_to(root) or target == root:
                raise ValueError(f"{member.name!r} in the certificates' archive leaves its folder")
            source = archive.extractfile(member)
            assert source is not None  # a regular file always has its bytes
            private_dir(target.parent)
            with source, private_file(target).open("wb") as out:
                shutil.copyfileobj(source, out)
            restrict(target, FILE_MODE)
            count += 1
    return count


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """The file at `path`, a chunk at a time, read in a worker thread."""
    handle = await anyio.to_thread.run_sync(path.open, "rb")
    try:
        while chunk := await anyio.to_thread.run_sync(handle.read, READ_CHUNK):
            yield chunk
    finally:
        handle.close()


async def write_file(chunks: AsyncIterable[bytes], path: Path) -> None:
    """Write `chunks` into a new owner-only file `path`."""
    private_file(path)
    handle = await anyio.to_thread.run_sync(path.open, "wb")
    try:
        async for chunk in chunks:
            await anyio.to_thread.run_sync(handle.write, chunk)
        await anyio.to_thread.run_sync(handle.flush)
        await anyio.to_thread.run_sync(os.fsync, handle.fileno())
    finally:
        handle.close()


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data
