"""`rivetr db`: make, list, show, start, stop, restart, upgrade and delete managed databases,
rotate their passwords, set their backup schedules and read their servers' output, through the
same services as the API (the running service does the work). Each verb prints what the read
model says (`--json`: the API's answer), and a refusal on stderr with exit status 1 (2 for input
that is not valid)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rivetr.cli import backups, verbs
from rivetr.cli.backups import resource_id
from rivetr.cli.shared import cli_actor, connect_engine, run_async
from rivetr.cli.verbs import Verb
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    db = sub.add_parser("db", help="managed databases and their backups")
    actions = db.add_subparsers(metavar="ACTION")
    output = verbs.output(common)

    listing = actions.add_parser("list", parents=[output], help="the databases, by place")
    _place(listing)
    verb(listing, _list)
    create = actions.add_parser("create", parents=[output], help="make a database")
    create.add_argument("name")
    create.add_argument(
        "--kind", required=True, choices=["postgres", "mysql", "mariadb", "redis", "mongodb"]
    )
    _place(create)
    create.add_argument("--version", help="(default: the kind's current one)")
    create.add_argument("--image", help="(default: the official image of that version)")
    create.add_argument("--public-port", type=int, help="publish it on this host port")
    create.add_argument("--bind", default="127.0.0.1", help="the address it is published on")
    verb(create, _create)
    for name, what in (
        ("show", "one database"),
        ("start", "ask it to start"),
        ("stop", "ask it to stop"),
        ("restart", "ask it to restart"),
        ("rotate-password", "a new password; prints the apps to redeploy"),
    ):
        parser = actions.add_parser(name, parents=[output], help=what)
        parser.add_argument("id")
        verb(parser, _show if name == "show" else _act, action=name)
    delete = actions.add_parser("delete", parents=[output], help="delete it (its volume stays)")
    delete.add_argument("id")
    delete.add_argument("--drop-volume", action="store_true", help="delete its data too")
    verb(delete, _delete)
    schedule = actions.add_parser("schedule", parents=[output], help="set its backup schedules")
    schedule.add_argument("id")
    schedule.add_argument("--cron", action="append", default=[], help="e.g. '0 3 * * *'")
    schedule.add_argument("--tz", default="UTC", help="the cron's time zone")
    schedule.add_argument("--target", default="local", help="where its backups go")
    schedule.add_argument("--clear", action="store_true", help="no scheduled backups")
    verb(schedule, _schedule)
    upgrade = actions.add_parser("upgrade", parents=[output], help="move to another version")
    upgrade.add_argument("id")
    upgrade.add_argument("--version", required=True)
    upgrade.add_argument("--image")
    verb(upgrade, _upgrade)
    logs = actions.add_parser("logs", parents=[common], help="the server's last lines of output")
    logs.add_argument("id")
    logs.add_argument("-n", "--tail", type=int, default=100, help="the last N lines (default 100)")
    logs.set_defaults(run=run_async(_logs), needs_data=True)
    backups.add_database_commands(actions, output, verb)
    backups.add_target_commands(sub, output, verb)


def verb(parser: argparse.ArgumentParser, run: Verb, **defaults: Any) -> None:
    verbs.verb(parser, run, line, **defaults)


def _place(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", help="(default: the default team)")
    parser.add_argument("--project", help="(default: the default project)")
    parser.add_argument("--env", help="the environment (default: production)")


def line(item: Any) -> str:
    """One tab-separated line for a database, a backup, a restore or a target."""
    from rivetr.projections.databases import BackupView, DatabaseView, RestoreView, TargetView

    match item:
        case DatabaseView():
            verified = item.last_verified_at or "never"
            place = f"{item.team}/{item.project}/{item.environment}"
            kind = f"{item.kind} {item.version}"
            verified_line = f"last verified backup: {verified}"
            return "\t".join([item.database_id, item.name, place, kind, item.status, verified_line])
        case BackupView():
            why = f"{item.failed_step}: {item.failure}" if item.status == "failed" else ""
            return "\t".join([item.backup_id, item.status, item.target, item.requested_at, why])
        case RestoreView():
            return "\t".join([item.restore_id, item.status, item.backup_id, item.failure or ""])
        case TargetView():
            where = f"{item.endpoint}/{item.bucket}/{item.prefix or ''}" if item.bucket else ""
            encrypted = "encrypted" if item.encrypted else "not encrypted"
            return "\t".join([item.name, item.kind, where, encrypted])
    return str(item)


async def _list(services: Any, args: argparse.Namespace) -> Any:
    reads = services.database_reads
    return await reads.every(cli_actor(), args.team, args.project, args.env)


async def _create(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.database_commands import CreateDatabase

    fields = {
        "name": args.name,
        "kind": args.kind,
        "team": args.team or "default",
        "project": args.project or "default",
        "environment": args.env or "production",
        "version": args.version,
        "image": args.image,
        "public_port": args.public_port,
        "bind_address": args.bind,
    }
    command = msgspec.convert(fields, CreateDatabase)
    database_id, _ = await services.databases.create(cli_actor(), command)
    return await services.database_reads.one(cli_actor(), database_id)


async def _show(services: Any, args: argparse.Namespace) -> Any:
    return await services.database_reads.one(cli_actor(), resource_id(args.id))


async def _act(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.database_commands import RequestDatabaseAction, RotateDatabasePassword

    database_id = resource_id(args.id)
    if args.action == "rotate-password":
        await services.databases.run(cli_actor(), RotateDatabasePassword(database_id=database_id))
        view = await services.database_reads.one(cli_actor(), database_id)
        apps = await services.database_reads.apps_using(view)
        if not args.json:
            print(f"password rotation of {view.name} asked for", file=sys.stderr)
            print(f"redeploy once it is done: {', '.join(apps) or 'no app uses it'}")
            return 0
        return {"database": view, "apps": apps}
    command = RequestDatabaseAction(database_id=database_id, action=args.action)
    await services.databases.run(cli_actor(), command)
    return await services.database_reads.one(cli_actor(), database_id)


async def _delete(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.database_commands import DeleteDatabase

    command = DeleteDatabase(database_id=resource_id(args.id), keep_volume=not args.drop_volume)
    await services.databases.run(cli_actor(), command)
    kept = "its volume deleted too" if args.drop_volume else "its volume kept"
    print(f"database {args.id} deleted, {kept}", file=sys.stderr)
    return 0


async def _schedule(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.database_commands import SetBackupSchedules

    if args.clear == bool(args.cron):
        print("rivetr: give --cron EXPR (one or more), or --clear", file=sys.stderr)
        return 2
    schedules = [{"cron": cron, "timezone": args.tz, "target": args.target} for cron in args.cron]
    command = msgspec.convert(
        {"database_id": resource_id(args.id), "schedules": schedules}, SetBackupSchedules
    )
    await services.databases.run(cli_actor(), command)
    return await services.database_reads.one(cli_actor(), command.database_id)


async def _upgrade(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.database_commands import UpgradeDatabase

    fields = {"database_id": resource_id(args.id), "version": args.version, "image": args.image}
    command = msgspec.convert(fields, UpgradeDatabase)
    await services.databases.upgrade(cli_actor(), command)
    return await services.database_reads.one(cli_actor(), command.database_id)


async def _logs(settings: Settings, args: argparse.Namespace) -> int:
    """The database server's last lines, read from the engine (the service need not run)."""
    import msgspec

    from rivetr.adapters.runtime.base import EngineUnavailable
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError
    from rivetr.service.queries.databases import DatabaseReads

    try:
        database_id = resource_id(args.id)
    except msgspec.ValidationError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    if args.tail < 0:
        print("rivetr: --tail must be 0 or more", file=sys.stderr)
        return 2
    async with opened(settings) as services:
        runtime = await connect_engine(settings)
        if runtime is None:
            return 1
        try:
            reads = DatabaseReads(services.read, lambda: runtime)
            logs = await reads.logs(cli_actor(), database_id, tail=args.tail)
        except (DomainError, EngineUnavailable) as exc:  # the engine may go away mid-read
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
        finally:
            await runtime.close()
    print(logs.output, end="" if logs.output.endswith("\n") or not logs.output else "\n")
    return 0
