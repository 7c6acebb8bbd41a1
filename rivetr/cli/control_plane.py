"""`rivetr backup` and `rivetr restore`: back up the control plane (the log, copied online, the
certificates and, encrypted, the key file) to one of the instance's backup targets, list those
backups and set their schedules; and restore one into the empty data directory of a new
machine, from a target named on the command line (its log is not there yet to name it). The
S3 secret key and the passphrase are read from the environment or stdin, never the command
line."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rivetr.cli import verbs
from rivetr.cli.backups import PASSPHRASE_ENV, SECRET_KEY_ENV, StdinLines
from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    output = verbs.output(common)
    backup = sub.add_parser(
        "backup",
        parents=[output],
        help="back up the control plane (the log, certificates, key) now",
        description="Copy the log online, with the certificates and (--with-key) the key file,"
        " to one of the instance's backup targets; then read it back and restore it into a"
        " scratch directory to prove it. Exit 1 naming the step that failed. With --with-key"
        f" and a target without a passphrase, the passphrase is read from ${PASSPHRASE_ENV},"
        " else stdin.",
    )
    backup.add_argument("--target", default="local", help="one of the default team's targets")
    backup.add_argument("--with-key", action="store_true", help="take secrets.key, encrypted")
    verbs.verb(backup, _back_up, line)
    actions = backup.add_subparsers(metavar="ACTION")
    after = _given_after()
    listing = actions.add_parser("list", parents=[after], help="the backups, newest first")
    verbs.verb(listing, _list, line)
    schedule = actions.add_parser("schedule", parents=[after], help="set the schedules")
    schedule.add_argument("--cron", action="append", default=[], help="e.g. '0 3 * * *'")
    schedule.add_argument("--tz", default="UTC", help="the cron's time zone")
    schedule.add_argument("--target", default="local", help="where the backups go")
    schedule.add_argument("--with-key", action="store_true", help="(the target's passphrase)")
    schedule.add_argument("--clear", action="store_true", help="no scheduled backups")
    verbs.verb(schedule, _schedule, line)

    restore = sub.add_parser(
        "restore",
        parents=[common],
        help="restore a control-plane backup into an empty data directory",
        description=f"The S3 secret key is read from ${SECRET_KEY_ENV}, else stdin's first"
        f" line; the passphrase of an encrypted backup from ${PASSPHRASE_ENV}, else stdin's"
        " next line.",
    )
    restore.add_argument("backup", nargs="?", help="its id (default: the newest)")
    restore.add_argument("--from-dir", help="a local target's folder (holding control-plane/)")
    restore.add_argument("--s3-endpoint", help="https://s3.example.com")
    restore.add_argument("--bucket")
    restore.add_argument("--region", default="us-east-1")
    restore.add_argument("--prefix", default="", help="the target's prefix in the bucket")
    restore.add_argument("--path-style", action="store_true", help="MinIO and most self-hosted")
    restore.add_argument("--access-key")
    restore.add_argument("--list", action="store_true", help="list the backups there and stop")
    restore.add_argument("--without-key", action="store_true", help="leave secrets.key out")
    restore.set_defaults(run=run_async(_restore))


def _given_after() -> argparse.ArgumentParser:
    """The common flags of `backup`'s actions, there only when given: argparse lets an
    action's defaults overwrite what was given before it (`rivetr backup --data-dir D list`)."""
    after = argparse.ArgumentParser(add_help=False)
    unset = argparse.SUPPRESS
    after.add_argument("--data-dir", default=unset, help="data directory (as for backup)")
    after.add_argument("--config", default=unset, help="rivetr.toml to read")
    after.add_argument("--json", action="store_true", default=unset, help="the API's JSON")
    return after


def line(item: Any) -> str:
    from rivetr.service.commands.control_plane import ControlPlaneBackupView

    if isinstance(item, ControlPlaneBackupView):
        why = f"{item.failed_step}: {item.failure}" if item.status == "failed" else ""
        head = f"position {item.head_position}" if item.head_position is not None else ""
        key = "with key" if item.with_key else "without key"
        fields = [item.backup_id, item.status, item.target, item.requested_at, head, key, why]
        return "\t".join(fields).rstrip()
    schedules = getattr(item, "schedules", None)
    if schedules is not None:
        shown = [f"{s.cron} ({s.timezone}) to {s.target}" for s in schedules]
        return "\n".join(shown) or "no scheduled backups"
    return str(item)


async def _back_up(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.control_plane import BackUpControlPlane

    passphrase = None
    if args.with_key:
        targets = await services.database_reads.targets(cli_actor(), "default")
        held = next((t for t in targets if t.name == args.target), None)
        if held is not None and not held.encrypted:
            passphrase = os.environ.get(PASSPHRASE_ENV) or StdinLines().next("the passphrase")
    command = BackUpControlPlane(target=args.target, with_key=args.with_key)
    backup_id = await services.control_plane.back_up(
        cli_actor(), command, passphrase=passphrase or None, taken_by="cli"
    )
    ended = await services.control_plane_backups.take(backup_id, passphrase or None)
    view = await services.control_plane.backup(cli_actor(), backup_id)
    if ended.status != "verified":
        print(
            f"rivetr: control-plane backup {backup_id} failed at {ended.failed_step}:"
            f" {ended.failure}",
            file=sys.stderr,
        )
        if args.json:
            verbs.show(view, args, line)
        return 1
    if not args.json:
        print(
            f"control-plane backup {backup_id} verified: {view.events_verified} events through"
            f" position {view.head_position}, {view.size} bytes under {view.prefix} on target"
            f" {view.target}",
            file=sys.stderr,
        )
    return view


async def _list(services: Any, args: argparse.Namespace) -> Any:
    return await services.control_plane.backups(cli_actor())


async def _schedule(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.control_plane import ControlPlaneScheduleInput, SetControlPlaneSchedules

    if args.clear == bool(args.cron):
        raise verbs.Usage("give --cron (one or more), or --clear")
    schedules = [
        ControlPlaneScheduleInput(
            cron=cron, timezone=args.tz, target=args.target, with_key=args.with_key
        )
        for cron in args.cron
    ]
    await services.control_plane.set_schedules(
        cli_actor(), SetControlPlaneSchedules(schedules=schedules)
    )
    return await services.control_plane.schedules(cli_actor())


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.cli.control_plane_restore import restore

    return await restore(settings, args)
