"""`rivetr restore`: the target named on the command line opened (a local folder, or S3 with
its secret key from the environment or stdin), the backup chosen (by id, else the newest),
and put into the empty data directory: each object checked against the manifest's sha256,
decrypted with the passphrase, the chain verified and the read model rebuilt. `rivetr serve`
then brings the rest back."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from rivetr.cli.backups import PASSPHRASE_ENV, SECRET_KEY_ENV, StdinLines
from rivetr.config import Settings


class _Usage(Exception):
    pass


def _target(args: argparse.Namespace, stdin: StdinLines) -> Any:
    from rivetr.adapters.backup_targets.local import LocalDirectoryTarget

    if bool(args.from_dir) == bool(args.s3_endpoint):
        raise _Usage("name the target: --from-dir DIR, or --s3-endpoint URL with --bucket")
    if args.from_dir:
        folder = Path(args.from_dir)
        if not folder.is_dir():
            raise _Usage(f"--from-dir: {folder} is not a directory")
        return LocalDirectoryTarget(folder)
    if not args.bucket or not args.access_key:
        raise _Usage("an S3 target needs --bucket and --access-key")
    from rivetr.adapters.backup_targets.s3 import S3Target

    secret = os.environ.get(SECRET_KEY_ENV) or stdin.next("the S3 secret key")
    try:
        return S3Target(
            endpoint=args.s3_endpoint,
            bucket=args.bucket,
            access_key=args.access_key,
            secret_key=secret,
            region=args.region,
            prefix=args.prefix,
            path_style=args.path_style,
        )
    except ValueError as exc:
        raise _Usage(str(exc)) from None


async def restore(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.eventstore.base import EventMeta
    from rivetr.service.reactors.control_plane_restore import (
        RestoreStepFailed,
        backups_on,
        choose,
        read_manifest,
        restore_into,
    )

    stdin = StdinLines()
    try:
        target = _target(args, stdin)
    except _Usage as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    data = settings.data_path
    try:
        prefixes = await backups_on(target)
        if args.list:
            for prefix in prefixes[::-1]:
                manifest = await read_manifest(target, prefix)
                key = "with key" if _has_key(manifest) else "without key"
                print(
                    f"{manifest.backup_id}\t{manifest.taken_at}\tposition"
                    f" {manifest.head_position}\t{key}\trivetr {manifest.rivetr_version}\t{prefix}"
                )
            return 0
        prefix = choose(prefixes, args.backup)
        if (data / "events.db").exists():
            print(
                f"rivetr: {data.resolve()} already holds a log: a restore goes into an empty data"
                " directory (stop the service, move it aside, or name another with --data-dir)",
                file=sys.stderr,
            )
            return 1
        manifest = await read_manifest(target, prefix)
        passphrase = None
        wanted = [f for f in manifest.files if not (args.without_key and _is_key(f.name))]
        if any(f.encrypted for f in wanted):
            passphrase = os.environ.get(PASSPHRASE_ENV) or stdin.next("the passphrase")
        user = getpass.getuser()
        restored = await restore_into(
            target,
            prefix,
            data,
            passphrase,
            key=not args.without_key,
            record=EventMeta(actor=f"cli:{user}", source="cli"),
        )
    except RestoreStepFailed as exc:
        print(f"rivetr: restore failed at {exc.step}: {exc.reason}", file=sys.stderr)
        return 1
    print(
        f"restored control-plane backup {restored.manifest.backup_id} into {data.resolve()}:"
        f" {restored.events} events (hash chain intact through position"
        f" {restored.manifest.head_position}), {restored.certificates} certificate file(s),"
        f" {'the key file' if restored.with_key else 'no key file'}; read model rebuilt",
        file=sys.stderr,
    )
    if not restored.with_key and not settings.secret_key:
        print(
            f"rivetr: no secrets.key was restored: put the old one at {data.resolve()}/secrets.key"
            " (or set RIVETR_SECRET_KEY) before `rivetr serve`, or sealed values will not open",
            file=sys.stderr,
        )
    print("start `rivetr serve`: it starts again what the log says is live", file=sys.stderr)
    return 0


def _is_key(name: str) -> bool:
    return name.startswith("secrets.key")


def _has_key(manifest: Any) -> bool:
    return any(_is_key(f.name) for f in manifest.files)
