"""Taking a control-plane backup: the log copied online (SQLite's backup API, consistent while
the service writes), the certificates packed, the key file encrypted with a passphrase when
asked for; each stored to the target (encrypted on the way when the target has a passphrase),
the manifest last; every object read back whole; then the backup restored into a scratch data
directory, its chain verified and its read model rebuilt. Every step is an event on the
"control-plane" stream; a failure is `control_plane.backup_failed` naming the step and cause.

The CLI runs this in its own process (beside the service, or with it stopped); the service
runs the backups asked through the API or a schedule."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import msgspec

from rivetr import __version__
from rivetr.adapters.backup_targets.base import BackupTargetError, Digest
from rivetr.adapters.backup_targets.encryption import encrypt
from rivetr.adapters.clock import Clock
from rivetr.adapters.control_plane_files import (
    MANIFEST,
    Manifest,
    ManifestFile,
    copy_log,
    encode_manifest,
    file_chunks,
    one_chunk,
    pack_certs,
    private_file,
)
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.secrets import SecretError
from rivetr.domain import control_plane
from rivetr.domain.control_plane import ControlPlaneBackup
from rivetr.domain.control_plane_events import (
    STREAM,
    ControlPlaneBackupFailed,
    ControlPlaneBackupReadBack,
    ControlPlaneBackupRequested,
    ControlPlaneBackupStored,
    ControlPlaneBackupVerified,
    ControlPlaneFile,
    ControlPlaneStep,
)
from rivetr.domain.errors import DomainError
from rivetr.domain.event_base import Event
from rivetr.domain.teams import ROOT_TEAM
from rivetr.service.reactors.control_plane_restore import (
    CERTS,
    ENCRYPTED,
    KEY,
    LOG,
    RestoreStepFailed,
    restore_into,
    scratch,
)
from rivetr.service.reactors.control_plane_retention import prune
from rivetr.service.reactors.step_failures import StepFailed, during
from rivetr.service.reactors.target_opener import OpenedTarget, TargetOpener

log = logging.getLogger(__name__)

PREFIX = "control-plane"
ACTOR = "system:control-plane-backups"
# what a failure of each step of putting the backup in place is, as a step of the backup
_VERIFY_STEPS: dict[str, ControlPlaneStep] = {"verify_chain": "verify_chain", "rebuild": "rebuild"}
_FAILURES = (BackupTargetError, SecretError, DomainError, OSError, ValueError)


def _step(step: ControlPlaneStep) -> during[ControlPlaneStep]:
    return during(step, _FAILURES)


class ControlPlaneBackups:
    def __init__(
        self,
        store: EventStore,
        data: Path,
        targets: TargetOpener,
        clock: Clock,
        *,
        actor: str = ACTOR,
        source: str = "system",
    ) -> None:
        self.store = store
        self.data = data
        self.targets = targets
        self.clock = clock
        self.actor = actor
        self.source = source

    async def state(self, backup_id: str) -> ControlPlaneBackup | None:
        history = await self.store.read_stream(STREAM)
        return control_plane.fold("", [r.event for r in history]).backups.get(backup_id)

    async def take(self, backup_id: str, passphrase: str | None = None) -> ControlPlaneBackup:
        """Take the backup if it is still only asked for (a repeat does nothing); returns it
        as it ended. `passphrase`: for the key file, when the target has none."""
        backup = await self.state(backup_id)
        assert backup is not None, backup_id
        if backup.status == "requested":
            try:
                await self._take(backup.request, passphrase)
            except StepFailed as failed:
                log.warning(
                    "control-plane backup %s failed at %s: %s",
                    backup_id,
                    failed.step,
                    failed.reason,
                )
                await self.record(
                    ControlPlaneBackupFailed(
                        backup_id=backup_id, step=failed.step, reason=failed.reason
                    )
                )
        ended = await self.state(backup_id)
        assert ended is not None
        if ended.status == "verified":  # only a good one may make room
            meta = EventMeta(actor=self.actor, source=self.source)
            await prune(self.store, self.targets, self.clock, ended.request.target, meta)
        return ended

    async def _take(self, request: ControlPlaneBackupRequested, passphrase: str | None) -> None:
        with _step("store"):
            target = await self.targets.open(ROOT_TEAM, request.target)
        key_passphrase = passphrase or target.passphrase
        if request.with_key and key_passphrase is None:
            raise StepFailed("copy", "the key file goes only encrypted: no passphrase was given")
        taken = self.clock.now().strftime("%Y%m%dT%H%M%SZ")
        prefix = f"{PREFIX}/{taken}-{request.backup_id}"
        started = self.clock.monotonic()
        async with scratch(self.data) as work:
            work.mkdir(mode=0o700)
            with _step("copy"):
                head = await anyio.to_thread.run_sync(copy_log, self.data / LOG, work / LOG)
                await anyio.to_thread.run_sync(pack_certs, self.data / "certs", work / CERTS)
                if request.with_key:
                    await anyio.to_thread.run_sync(self._copy_key, work / KEY)
            plain = [LOG, CERTS, *([KEY] if request.with_key else [])]
            files = []
            for name in plain:
                secret = key_passphrase if name == KEY else target.passphrase
                files.append(await self._store(target, prefix, work / name, name, secret))
            manifest = Manifest(
                backup_id=request.backup_id,
                taken_at=self.clock.now().isoformat(),
                rivetr_version=__version__,
                head_position=head[0],
                head_hash=head[1],
                files=files,
            )
            with _step("store"):
                stored_manifest = await target.target.put(
                    f"{prefix}/{MANIFEST}", one_chunk(encode_manifest(manifest))
                )
        await self.record(
            ControlPlaneBackupStored(
                backup_id=request.backup_id,
                prefix=prefix,
                head_position=head[0],
                head_hash=head[1],
                rivetr_version=__version__,
                files=[msgspec.convert(msgspec.to_builtins(f), ControlPlaneFile) for f in files],
                seconds=round(self.clock.monotonic() - started, 3),
            )
        )
        whole = [
            *files,
            ManifestFile(
                name=MANIFEST, size=stored_manifest.size, sha256=stored_manifest.sha256 or ""
            ),
        ]
        await self._read_back(request, target, prefix, whole)
        await self._verify(request, target, prefix, key_passphrase)

    def _copy_key(self, into: Path) -> None:
        source = self.data / KEY
        if not source.is_file():
            raise StepFailed(
                "copy",
                f"there is no {source}: nothing has been sealed yet, or the key comes from"
                " RIVETR_SECRET_KEY (the secret_key setting), which you keep yourself",
            )
        private_file(into).write_bytes(source.read_bytes())

    async def _store(
        self, target: OpenedTarget, prefix: str, path: Path, name: str, secret: str | None
    ) -> ManifestFile:
        chunks: AsyncIterator[bytes] = file_chunks(path)
        if secret is not None:
            chunks = encrypt(chunks, secret)
            name += ENCRYPTED
        with _step("store"):
            stored = await target.target.put(f"{prefix}/{name}", chunks)
        return ManifestFile(
            name=name, size=stored.size, sha256=stored.sha256 or "", encrypted=secret is not None
        )

    async def _read_back(
        self,
        request: ControlPlaneBackupRequested,
        target: OpenedTarget,
        prefix: str,
        files: list[ManifestFile],
    ) -> None:
        for file in files:
            digest = Digest()
            key = f"{prefix}/{file.name}"
            with _step("read_back"):
                async for chunk in target.target.get(key):
                    digest.update(chunk)
            read = digest.stored(key)
            if (read.size, read.sha256) != (file.size, file.sha256):
                raise StepFailed(
                    "read_back",
                    f"{key} is not what was written: {read.size} bytes, sha256 {read.sha256};"
                    f" written {file.size} bytes, sha256 {file.sha256}",
                )
        size = sum(f.size for f in files)
        await self.record(ControlPlaneBackupReadBack(backup_id=request.backup_id, size=size))

    async def _verify(
        self,
        request: ControlPlaneBackupRequested,
        target: OpenedTarget,
        prefix: str,
        passphrase: str | None,
    ) -> None:
        started = self.clock.monotonic()
        async with scratch(self.data) as data:
            try:
                restored = await restore_into(target.target, prefix, data, passphrase)
            except RestoreStepFailed as exc:
                raise StepFailed(_VERIFY_STEPS.get(exc.step, "restore"), str(exc)) from exc
        await self.record(
            ControlPlaneBackupVerified(
                backup_id=request.backup_id,
                events=restored.events,
                seconds=round(self.clock.monotonic() - started, 3),
            )
        )

    async def record(self, event: Event) -> None:
        await self.store.append(
            STREAM, None, [event], EventMeta(actor=self.actor, source=self.source)
        )
