"""`rivetr db backup|backups|restore` and `rivetr backup-targets`: ask for a backup or a
restore (with `--wait`, follow its steps in the log until it ends, exit 1 when it failed) and
set a team's backup targets, whose secrets are read from the environment or stdin, never from
the command line (where `ps` and shell histories would keep them)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from rivetr.cli.shared import StdinLines, cli_actor

SECRET_KEY_ENV = "RIVETR_S3_SECRET_KEY"
PASSPHRASE_ENV = "RIVETR_BACKUP_PASSPHRASE"
WAIT_S = 3600.0  # a backup of a large database, verified, takes a while


Verb = Callable[..., None]  # databases.verb: a parser's function on an opened data directory


def add_database_commands(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    verb: Verb,
) -> None:
    backup = actions.add_parser("backup", parents=[output], help="back it up now")
    backup.add_argument("id")
    backup.add_argument("--target", default="local")
    backup.add_argument("--no-verify", action="store_true", help="skip the restore check")
    _waiting(backup)
    verb(backup, _backup)
    listing = actions.add_parser("backups", parents=[output], help="its backups, newest first")
    listing.add_argument("id")
    verb(listing, _backups)
    restore = actions.add_parser("restore", parents=[output], help="restore a backup")
    restore.add_argument("backup_id")
    restore.add_argument("--into", help="another database of its kind (default: its own)")
    restore.add_argument("--dry-run", action="store_true", help="say what would happen")
    _waiting(restore)
    verb(restore, _restore)


def add_target_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    verb: Verb,
) -> None:
    targets = sub.add_parser("backup-targets", help="a team's backup targets")
    actions = targets.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", parents=[output], help="the team's targets")
    listing.add_argument("--team", default="default")
    verb(listing, _targets)
    put = actions.add_parser(
        "set",
        parents=[output],
        help="add or replace a target",
        description=f"An S3 secret key is read from ${SECRET_KEY_ENV}, else from stdin's first"
        f" line; with --encrypt, the passphrase from ${PASSPHRASE_ENV}, else stdin's next line.",
    )
    put.add_argument("name")
    put.add_argument("--team", default="default")
    put.add_argument("--s3-endpoint", help="https://s3.example.com (without it: a directory)")
    put.add_argument("--bucket")
    put.add_argument("--region", default="us-east-1")
    put.add_argument("--prefix", default="")
    put.add_argument("--path-style", action="store_true", help="MinIO and most self-hosted")
    put.add_argument("--access-key")
    put.add_argument("--keep-last", type=int, help="keep this many backups")
    put.add_argument("--keep-days", type=int, help="keep backups this many days")
    put.add_argument("--encrypt", action="store_true", help="encrypt backups with a passphrase")
    verb(put, _set_target)
    remove = actions.add_parser("remove", parents=[output], help="remove a target")
    remove.add_argument("name")
    remove.add_argument("--team", default="default")
    verb(remove, _remove_target)


def _waiting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="follow it until it ends")
    parser.add_argument("--timeout", type=float, default=WAIT_S, help="seconds (with --wait)")


async def _backup(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.database_commands import BackUpDatabase

    command = BackUpDatabase(
        database_id=resource_id(args.id),
        target=args.target,
        verify=False if args.no_verify else None,
    )
    backup_id, _ = await services.backups.back_up(cli_actor(), command)
    if args.wait:
        return await follow(services, "backup", backup_id, args.timeout)
    return await services.database_reads.backup(cli_actor(), backup_id)


async def _backups(services: Any, args: argparse.Namespace) -> Any:

    return await services.database_reads.backups(cli_actor(), resource_id(args.id))


async def _restore(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.database_commands import RestoreBackup

    into = resource_id(args.into) if args.into else None
    command = RestoreBackup(backup_id=resource_id(args.backup_id), into=into)
    plan = await services.backups.restore(cli_actor(), command, args.dry_run)
    if not args.json:
        for n, step in enumerate(plan.steps, 1):
            print(f"{n}. {step}", file=sys.stderr)
    if args.wait and plan.restore_id is not None:
        return await follow(services, "restore", plan.restore_id, args.timeout)
    if args.json:
        return plan
    print(plan.restore_id or "dry run: nothing was done")
    return 0


async def follow(services: Any, kind: str, key: str, timeout: float) -> int:
    """Print a backup's or a restore's steps from the log until it ends: 0 when it did what it
    was asked (a backup verified, or read back when not verifying; a restore completed), 1
    when it failed (the reason printed) or did not end within `timeout` seconds."""
    import asyncio

    from rivetr.domain import backups

    stream = f"{kind}-{key}"
    first = (await services.store.read_stream(stream))[0]
    backup = backups.BackupState(backup_id=key)
    restore = backups.RestoreState(restore_id=key)
    print(key, flush=True)
    try:
        async with asyncio.timeout(timeout):
            async for recorded in services.store.subscribe(first.position - 1):
                if recorded.stream_id != stream:
                    continue
                print(f"{recorded.recorded_at[11:19]} {recorded.type}", file=sys.stderr)
                if kind == "backup":
                    backup = backups.evolve_backup(backup, recorded.event)
                    verify = backup.request is not None and backup.request.verify
                    done = "verified" if verify else "read_back"
                    if backup.status in (done, "failed"):
                        return _ended(kind, key, backup.status, backup.failure)
                else:
                    restore = backups.evolve_restore(restore, recorded.event)
                    if restore.status != "requested":
                        return _ended(kind, key, restore.status, restore.failure)
    except TimeoutError:
        print(f"rivetr: {kind} {key} did not end within {timeout:g} s", file=sys.stderr)
    return 1


def _ended(kind: str, key: str, status: str, failure: str | None) -> int:
    if status == "failed":
        print(f"rivetr: {kind} {key} failed: {failure}", file=sys.stderr)
        return 1
    print(f"{kind} {key} {status}", file=sys.stderr)
    return 0


async def _targets(services: Any, args: argparse.Namespace) -> Any:
    return await services.database_reads.targets(cli_actor(), args.team)


async def _set_target(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.database_commands import SetBackupTarget

    stdin = StdinLines()
    fields: dict[str, Any] = {
        "team": args.team,
        "name": args.name,
        "keep_last": args.keep_last,
        "keep_days": args.keep_days,
    }
    if args.s3_endpoint:
        fields["s3"] = {
            "endpoint": args.s3_endpoint,
            "bucket": args.bucket,
            "region": args.region,
            "prefix": args.prefix,
            "path_style": args.path_style,
            "access_key": args.access_key,
            "secret_key": os.environ.get(SECRET_KEY_ENV) or stdin.next("the S3 secret key"),
        }
    if args.encrypt:
        fields["encryption_passphrase"] = os.environ.get(PASSPHRASE_ENV) or stdin.next(
            "the passphrase"
        )
    command = msgspec.convert(fields, SetBackupTarget)
    await services.backups.set_target(cli_actor(), command)
    targets = await services.database_reads.targets(cli_actor(), args.team)
    return next(t for t in targets if t.name == args.name)


async def _remove_target(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.database_commands import RemoveBackupTarget

    await services.backups.set_target(
        cli_actor(), RemoveBackupTarget(team=args.team, name=args.name)
    )
    print(f"backup target {args.name} of {args.team} removed", file=sys.stderr)
    return 0


def resource_id(text: str) -> str:
    """A resource id as typed, checked (a typo is said as such, not looked up)."""
    import msgspec

    from rivetr.domain.database_commands import ResourceId

    return msgspec.convert(text, ResourceId)
