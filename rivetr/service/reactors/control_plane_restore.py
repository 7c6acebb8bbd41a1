"""Putting a control-plane backup into a data directory: its manifest read, every object
fetched whole and checked against its sha256, decrypted, the log's head checked against the
manifest's, its hash chain verified (`rivetr audit verify`'s walk) and the read model rebuilt
from it. The same steps prove a backup (into a scratch directory, thrown away) and restore one
onto a new machine (into its empty data directory).

Nothing is put in place until every object has been fetched and checked and the chain holds:
a failure leaves the data directory as empty as it was, naming the step and the object."""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from rivetr import __version__
from rivetr.adapters.backup_targets.base import BackupTarget, BackupTargetError, Digest
from rivetr.adapters.backup_targets.encryption import BackupDecryptionError, decrypt
from rivetr.adapters.control_plane_files import (
    MANIFEST,
    Manifest,
    ManifestError,
    decode_manifest,
    log_head,
    unpack_certs,
    write_file,
)
from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.chain import ChainBroken
from rivetr.adapters.eventstore.export import verify_store
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.adapters.private_files import private_dir, private_sqlite, restrict
from rivetr.domain.control_plane_events import STREAM, ControlPlaneRestored
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner

LOG, CERTS, KEY = "events.db", "certs.tar", "secrets.key"
ENCRYPTED = ".enc"
MAX_MANIFEST = 1 << 20
# a scratch directory untouched this long was left by a backup that was killed
SCRATCH_KEPT_S = 3600.0


class RestoreStepFailed(Exception):
    """A step of putting a backup in place failed; `step` names it, the message the cause."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    events: int  # how many the chain was verified through
    with_key: bool
    certificates: int
    rebuilt_to: int  # the read model's position after the rebuild


def plain_name(name: str) -> str:
    return name.removesuffix(ENCRYPTED)


async def backups_on(target: BackupTarget, under: str = "control-plane") -> list[str]:
    """The prefixes of the whole backups on `target` (those with a manifest), oldest first
    (a prefix starts with the time it was taken).

    Raises:
        RestoreStepFailed: ("fetch") the target could not be listed.
    """
    try:
        listed = await target.list(f"{under}/")
    except BackupTargetError as exc:
        raise RestoreStepFailed("fetch", f"{target.description}: {exc.cause}") from exc
    ending = f"/{MANIFEST}"
    return sorted(o.key.removesuffix(ending) for o in listed if o.key.endswith(ending))


def choose(prefixes: list[str], wanted: str | None) -> str:
    """The backup `wanted` names (its id, or its whole prefix), or the newest.

    Raises:
        RestoreStepFailed: ("fetch") none there, or none by that name.
    """
    if not prefixes:
        raise RestoreStepFailed("fetch", "the target holds no control-plane backup")
    if wanted is None:
        return prefixes[-1]
    found = [p for p in prefixes if p == wanted.rstrip("/") or p.endswith(f"-{wanted}")]
    if len(found) != 1:
        raise RestoreStepFailed(
            "fetch", f"the target holds no control-plane backup {wanted!r} ({len(prefixes)} there)"
        )
    return found[0]


async def read_manifest(target: BackupTarget, prefix: str) -> Manifest:
    """The manifest of the backup under `prefix`.

    Raises:
        RestoreStepFailed: ("fetch") no manifest there or the target failed, ("check") one
            that cannot be read.
    """
    data = bytearray()
    try:
        async for chunk in target.get(f"{prefix}/{MANIFEST}"):
            data += chunk
            if len(data) > MAX_MANIFEST:
                raise RestoreStepFailed("check", f"{prefix}/{MANIFEST} is too large")
    except BackupTargetError as exc:
        raise RestoreStepFailed(
            "fetch", f"{prefix}/{MANIFEST} on {target.description}: {exc.cause}"
        ) from exc
    try:
        return decode_manifest(bytes(data))
    except ManifestError as exc:
        raise RestoreStepFailed("check", f"{prefix}/{MANIFEST}: {exc}") from exc


async def _checked(
    target: BackupTarget, key: str, size: int, sha256: str, digest: Digest
) -> AsyncIterator[bytes]:
    """The object `key` streamed through `digest`; a stream whose size or sha256 is not the
    manifest's fails at its end, before its last bytes can be taken as good."""
    async for chunk in target.get(key):
        digest.update(chunk)
        if digest.size > size:
            break
        yield chunk
    read = digest.stored(key)
    if (read.size, read.sha256) != (size, sha256):
        raise RestoreStepFailed(
            "check",
            f"{key} is damaged: {read.size} bytes with sha256 {read.sha256}, the manifest"
            f" says {size} bytes with sha256 {sha256}",
        )


async def fetch(
    target: BackupTarget,
    prefix: str,
    manifest: Manifest,
    passphrase: str | None,
    into: Path,
    leave: frozenset[str] = frozenset(),
) -> list[str]:
    """Fetch every object of the backup but those `leave` names (plain) into the folder
    `into`, decrypted; returns their plain names.

    Raises:
        RestoreStepFailed: ("fetch") an object missing or the target failed; ("check") one
            damaged; ("decrypt") no passphrase or a wrong one for an encrypted object.
    """
    names = []
    for file in manifest.files:
        if plain_name(file.name) in leave:
            continue
        key = f"{prefix}/{file.name}"
        stream = _checked(target, key, file.size, file.sha256, Digest())
        plain: AsyncIterator[bytes] = stream
        if file.encrypted:
            if passphrase is None:
                raise RestoreStepFailed(
                    "decrypt", f"{key} is encrypted: give the passphrase it was encrypted with"
                )
            plain = decrypt(stream, passphrase)
        try:
            await write_file(plain, into / plain_name(file.name))
        except BackupTargetError as exc:
            raise RestoreStepFailed("fetch", f"{key} on {target.description}: {exc.cause}") from exc
        except BackupDecryptionError as exc:
            raise RestoreStepFailed("decrypt", f"{key}: {exc}") from exc
        names.append(plain_name(file.name))
    return names


async def verify_log(path: Path, manifest: Manifest) -> int:
    """Check that the log at `path` ends where the manifest says and that its chain holds;
    returns how many events it holds.

    Raises:
        RestoreStepFailed: ("verify_chain") naming the position or the head that differs.
    """
    head = await anyio.to_thread.run_sync(log_head, path)
    if head != (manifest.head_position, manifest.head_hash):
        raise RestoreStepFailed(
            "verify_chain",
            f"the log ends at position {head[0]} (hash {head[1][:12]}…), the manifest says"
            f" {manifest.head_position} (hash {manifest.head_hash[:12]}…)",
        )
    store = await SqliteEventStore.open(path)
    try:
        return await verify_store(store)
    except ChainBroken as exc:
        raise RestoreStepFailed(
            "verify_chain", f"hash chain broken at position {exc.position}: {exc.reason}"
        ) from exc
    finally:
        await store.close()


async def rebuild_read_model(data: Path) -> int:
    """Build `data`'s read model from its log; returns the position reached.

    Raises:
        RestoreStepFailed: ("rebuild") a view stopped or set an event aside, naming it.
    """
    store = await SqliteEventStore.open(data / LOG)
    runner = ProjectionRunner(store, private_sqlite(data / "read.db"), all_projections())
    try:
        await runner.open()
        position = await runner.rebuild()
        stopped = [f"{name} stopped: {why}" for name, why in runner.failures.items()]
        unapplied = [
            f"{f.projection} could not apply event {f.position} ({f.type}): {f.error}"
            for f in await runner.event_failures()
        ]
    finally:
        await runner.close()
        await store.close()
    if stopped or unapplied:
        raise RestoreStepFailed("rebuild", "; ".join([*stopped, *unapplied][:5]))
    return position


async def restore_into(
    target: BackupTarget,
    prefix: str,
    data: Path,
    passphrase: str | None,
    *,
    key: bool = True,
    record: EventMeta | None = None,
) -> Restored:
    """Put the backup under `prefix` into the data directory `data`, which must hold no log:
    fetched and checked whole into a folder beside, verified, then moved in place, and the
    read model rebuilt. `key`: whether to restore `secrets.key` when the backup holds it.
    `record`: who restored it, to record `control_plane.restored` in the restored log (a
    scratch copy that proves a backup records nothing).

    Raises:
        RestoreStepFailed: naming the step and the cause. Until the chain is verified `data`
            is left without a log; a failed rebuild leaves the verified log in place (the
            read model can be rebuilt again with `rivetr projections rebuild`).
    """
    private_dir(data)
    if (data / LOG).exists():
        raise RestoreStepFailed(
            "restore", f"{data} already holds a log: a restore goes into an empty data directory"
        )
    manifest = await read_manifest(target, prefix)
    staging = Path(tempfile.mkdtemp(prefix=".restoring-", dir=data))
    try:
        leave = frozenset() if key else frozenset({KEY})
        names = await fetch(target, prefix, manifest, passphrase, staging, leave)
        if LOG not in names:
            raise RestoreStepFailed("check", f"{prefix}/{MANIFEST} names no {LOG}")
        events = await verify_log(staging / LOG, manifest)
        certificates = 0
        if CERTS in names:
            try:
                certificates = await anyio.to_thread.run_sync(
                    unpack_certs, staging / CERTS, data / "certs"
                )
            except (ValueError, tarfile.TarError) as exc:
                raise RestoreStepFailed("restore", f"{CERTS}: {exc}") from exc
        restored_key = KEY in names
        if restored_key:
            (staging / KEY).replace(data / KEY)
            restrict(data / KEY, 0o600)
        if record is not None:
            await _record_restored(staging / LOG, manifest, target.description, record)
        (staging / LOG).replace(data / LOG)
    finally:
        await anyio.to_thread.run_sync(shutil.rmtree, staging, True)
    rebuilt = await rebuild_read_model(data)
    return Restored(manifest, events, restored_key, certificates, rebuilt)


async def _record_restored(log: Path, manifest: Manifest, source: str, meta: EventMeta) -> None:
    store = await SqliteEventStore.open(log)
    try:
        restored = ControlPlaneRestored(
            backup_id=manifest.backup_id,
            source=source,
            head_position=manifest.head_position,
            head_hash=manifest.head_hash,
            rivetr_version=__version__,
        )
        await store.append(STREAM, None, [restored], meta)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def scratch(near: Path) -> AsyncIterator[Path]:
    """A data directory of its own beside `near` (the same disk), removed afterwards."""
    folder = Path(
        await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix=".scratch-", dir=near))
    )
    try:
        yield folder / "data"
    finally:
        await anyio.to_thread.run_sync(shutil.rmtree, folder, True)


def sweep_scratch(near: Path, older_than_s: float = SCRATCH_KEPT_S) -> list[Path]:
    """Remove the scratch directories beside `near` that no backup has touched for
    `older_than_s` (one a CLI backup is using now is younger); returns them."""
    now = time.time()
    swept = []
    for folder in near.glob(".scratch-*"):
        with contextlib.suppress(FileNotFoundError):
            if folder.is_dir() and now - folder.stat().st_mtime > older_than_s:
                shutil.rmtree(folder, ignore_errors=True)
                swept.append(folder)
    return swept
