"""Opening a team's backup target by name: its settings from the team's stream, its secrets
opened, as a `BackupTarget`. A team's local target is a directory of its own under the
instance's backup directory: no team setting names a path on the host."""

from __future__ import annotations

from pathlib import Path

from rivetr.adapters.backup_targets.base import BackupTarget
from rivetr.adapters.backup_targets.local import LocalDirectoryTarget
from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.private_files import private_dir
from rivetr.adapters.secrets import SecretBox
from rivetr.domain import backups
from rivetr.domain.aggregates import BACKUP_TARGETS
from rivetr.domain.database_events import BackupTargetSet
from rivetr.service.commands.databases import target_context
from rivetr.service.commands.handler import folded


class OpenedTarget:
    """A target ready to use, with the passphrase backups to it are encrypted with (None:
    stored as dumped)."""

    def __init__(self, name: str, target: BackupTarget, passphrase: str | None) -> None:
        self.name = name
        self.target = target
        self.passphrase = passphrase


class TargetOpener:
    def __init__(
        self, store: EventStore, secrets: SecretBox, backups_dir: Path, *, make_root: bool
    ) -> None:
        """`make_root`: the backup directory is Rivetr's own (in the data directory) and is
        made when missing; one an admin named must exist (a disk that is not mounted is never
        silently replaced by a folder on the system disk)."""
        self.store = store
        self.secrets = secrets
        self.backups_dir = backups_dir
        self.make_root = make_root

    async def settings(self, team: str, name: str) -> BackupTargetSet:
        """Raises NotFound when the team has no such target (any more)."""
        return backups.target(await folded(self.store, BACKUP_TARGETS.at(team)), name)

    async def open(self, team: str, name: str) -> OpenedTarget:
        """Raises NotFound (no such target) or SecretError (a secret does not open)."""
        return self.opened(await self.settings(team, name))

    def opened(self, settings: BackupTargetSet) -> OpenedTarget:
        team, name = settings.team, settings.name
        passphrase = None
        if settings.encryption_key is not None:
            context = target_context(team, name, "encryption")
            passphrase = self.secrets.open(context, settings.encryption_key)
        s3 = settings.s3
        if s3 is None:
            directory = self.backups_dir / team / name
            if self.make_root or self.backups_dir.is_dir():
                private_dir(directory)
            return OpenedTarget(name, LocalDirectoryTarget(directory), passphrase)
        from rivetr.adapters.backup_targets.s3 import S3Target  # its client loads when used

        target = S3Target(
            endpoint=s3.endpoint,
            bucket=s3.bucket,
            access_key=s3.access_key,
            secret_key=self.secrets.open(target_context(team, name, "secret_key"), s3.secret_key),
            region=s3.region,
            prefix=s3.prefix,
            path_style=s3.path_style,
        )
        return OpenedTarget(name, target, passphrase)
