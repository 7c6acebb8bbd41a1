"""The `rivetr` command: serve, tokens, events export, audit verify, projections rebuild, images."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rivetr import __version__
from rivetr.config import ConfigError, Settings, load_settings, source_of

if TYPE_CHECKING:
    from rivetr.adapters.eventstore.base import LoggedEvent
    from rivetr.adapters.eventstore.chain import ChainReport

log = logging.getLogger("rivetr")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = load_settings(
            Path(args.config) if args.config else None, overrides=_overrides(args)
        )
    except ConfigError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if getattr(args, "needs_data", False) and _no_data_dir(settings, args):
        return 2
    try:
        result: int = args.run(settings, args)
        return result
    except KeyboardInterrupt:
        return 130


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as command-line flags."""
    return {
        "data_dir": args.data_dir,
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rivetr", description="A small self-hosted deployment engine."
    )
    parser.add_argument("--version", action="version", version=f"rivetr {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default ./rivetr-data, $RIVETR_DATA)")
    common.add_argument("--config", help="rivetr.toml to read (default ./rivetr.toml)")
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the service (API and dashboard)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.set_defaults(run=_serve)

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(metavar="ACTION")
    create = tokens.add_parser("create", parents=[common], help="mint a token, printed once")
    create.add_argument("--name", required=True, help="who or what will use it")
    create.add_argument("--scope", choices=["read", "deploy", "admin"], default="admin")
    create.add_argument(
        "--expires-in-days", type=int, metavar="N", help="stop working after N days"
    )
    create.add_argument("--team", help="act in this team only (default: every team)")
    create.set_defaults(run=_async(_tokens_create))
    listing = tokens.add_parser("list", parents=[common], help="list tokens (never secrets)")
    listing.set_defaults(run=_async(_tokens_list), needs_data=True)
    revoke = tokens.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=_async(_tokens_revoke), needs_data=True)

    events = sub.add_parser("events", help="the event log").add_subparsers(metavar="ACTION")
    export = events.add_parser("export", parents=[common], help="write the log to stdout")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--after", type=int, default=0, help="start after this position")
    export.add_argument("--from", dest="since", help="recorded at or after (ISO 8601, UTC)")
    export.add_argument("--to", dest="until", help="recorded before (ISO 8601, UTC)")
    export.add_argument("--app", help="only the events about this app (verify with --filtered)")
    export.set_defaults(run=_async(_events_export), needs_data=True)

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(metavar="ACTION")
    verify = audit.add_parser("verify", parents=[common], help="check the log's hash chain")
    verify.add_argument("--file", help="verify an exported JSONL file instead of the data dir")
    verify.add_argument(
        "--filtered", action="store_true", help="the file was exported for one app: allow gaps"
    )
    verify.set_defaults(run=_async(_audit_verify))

    projections = sub.add_parser("projections", help="the read model").add_subparsers(
        metavar="ACTION"
    )
    rebuild = projections.add_parser("rebuild", parents=[common], help="drop and replay")
    rebuild.add_argument("name", nargs="*", help="projections to rebuild (default: all)")
    rebuild.set_defaults(run=_async(_projections_rebuild), needs_data=True)

    deploy = sub.add_parser("deploy", parents=[common], help="deploy an application")
    deploy.set_defaults(command="deploy")
    deploy.add_argument("app")
    deploy.add_argument("--commit", help="a commit SHA (default: the branch head)")
    deploy.add_argument("--wait", action="store_true", help="follow the steps until it ends")
    deploy.set_defaults(run=_async(_deploy), needs_data=True)
    rollback = sub.add_parser(
        "rollback", parents=[common], help="redeploy an earlier release's image"
    )
    rollback.set_defaults(command="rollback")
    rollback.add_argument("app")
    rollback.add_argument("--to", help="deployment id (default: the release before the live one)")
    rollback.add_argument("--wait", action="store_true", help="follow the steps until it ends")
    rollback.set_defaults(run=_async(_deploy), needs_data=True)

    logs = sub.add_parser(
        "logs", parents=[common], help="what an app's running container writes (the engine's)"
    )
    logs.add_argument("app")
    logs.add_argument("-n", "--tail", type=int, default=100, help="the last N lines (default 100)")
    logs.add_argument("-f", "--follow", action="store_true", help="then follow new lines")
    logs.add_argument("--after", help="only the lines after this time (a line's timestamp)")
    logs.add_argument("-t", "--timestamps", action="store_true", help="show each line's time")
    logs.set_defaults(run=_async(_logs), needs_data=True)

    users = sub.add_parser("users", help="accounts").add_subparsers(metavar="ACTION")
    admin = users.add_parser(
        "create-admin",
        parents=[common],
        help="create the owner account; the password is read from stdin or prompted for",
    )
    admin.add_argument("--email", required=True)
    admin.set_defaults(run=_async(_users_create_admin))

    secrets = sub.add_parser("secrets", help="the key sealing secrets").add_subparsers(
        metavar="ACTION"
    )
    rotate = secrets.add_parser(
        "rotate", parents=[common], help="make a new key and seal every app's secrets with it"
    )
    rotate.set_defaults(run=_async(_secrets_rotate), needs_data=True)

    images = sub.add_parser("images", help="base images").add_subparsers(metavar="ACTION")
    busybox = images.add_parser(
        "import-busybox", parents=[common], help="make the local busybox base image"
    )
    busybox.add_argument("--tag", default=None, help="image name (default rivetr/busybox:latest)")
    busybox.set_defaults(run=_async(_import_busybox))
    return parser


def _async(
    command: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]],
) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        return asyncio.run(command(settings, args))

    return run


def cli_actor() -> Any:
    from rivetr.domain.access import Actor, Permission

    # Whoever can run the CLI can read the data directory: they hold every permission already.
    user = getpass.getuser()
    return Actor(kind="cli", id=user, name=user, permissions=frozenset(Permission), source="cli")


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from functools import partial

    from rivetr.bootstrap import Services
    from rivetr.config import origins
    from rivetr.web.app import create_app
    from rivetr.web.server import serve

    # where each setting came from, for the settings page (and which ones the log may change)
    found = origins(Path(args.config) if args.config else None, overrides=_overrides(args))

    log.info(
        "rivetr %s on http://%s:%d, data in %s",
        __version__,
        settings.host,
        settings.port,
        settings.data_path.resolve(),
    )
    serve(
        create_app(settings, open_services=partial(Services.open, origins=found)),
        settings.host,
        settings.port,
        settings.log_level,
        settings.trusted_proxies,
    )
    return 0


async def _tokens_create(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            token_id, secret = await services.tokens.create(
                cli_actor(), args.name, args.scope, args.expires_in_days, args.team
            )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(secret)
    print(
        f"token {token_id} ({args.scope}) created for {args.name!r}; it is shown only once.",
        file=sys.stderr,
    )
    return 0


async def _tokens_list(settings: Settings, _: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened

    async with opened(settings) as services:
        for token in await services.read.tokens.every():
            state = f"revoked {token.revoked_at}" if token.revoked_at else "active"
            if token.expires_at and not token.revoked_at:
                state += f" until {token.expires_at}"
            team = token.team or "*"
            print(
                f"{token.token_id}\t{token.name}\t{token.scope}\t{team}\t{token.created_at}\t{state}"
            )
    return 0


async def _tokens_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            await services.tokens.revoke(cli_actor(), args.token_id)
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


async def _users_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    try:
        password = _read_password()
    except ValueError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 1
    async with opened(settings) as services:
        try:
            user_id, role, adopted = await services.setup.create_admin(
                cli_actor(), args.email, password
            )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(f"created {user_id} ({role} of the default team); sign in at /api/v1/auth/login")
    if adopted:
        print(f"the {len(adopted)} earlier token(s) now belong to {user_id}: {', '.join(adopted)}")
    return 0


async def _secrets_rotate(settings: Settings, _: argparse.Namespace) -> int:
    from rivetr.adapters.secrets import SecretError
    from rivetr.bootstrap import opened

    async with opened(settings) as services:
        try:
            new_key = services.secrets.rotate()
            appended = 0
            apps = await services.read.apps.every()
            for app in apps:
                appended += await services.apps.reseal(cli_actor(), app.name)
            for user in await services.read.users.every():  # their second factors' seeds
                appended += await services.users.reseal_totp(cli_actor(), user.user_id)
        except SecretError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(
        f"new key {new_key}: sealed the secrets of {len(apps)} application(s) again"
        f" ({appended} event(s)); older keys stay in secrets.key to read the history"
    )
    return 0


async def _events_export(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.eventstore.export import write_export

    try:
        since, until = _utc(args.since), _utc(args.until)
    except ValueError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    if args.app:
        from rivetr.bootstrap import opened

        async with opened(settings) as services:
            named = await services.read.apps.named(args.app)
            if named is None:
                print(f"rivetr: no application named {args.app!r}", file=sys.stderr)
                return 1

            def about_app(event: LoggedEvent) -> bool:
                return event.resource == named.id

            await write_export(
                services.store, sys.stdout, args.format, args.after,
                since=since, until=until, keep=about_app,
            )  # fmt: skip
        return 0
    store = await _open_store(settings)
    try:
        await write_export(store, sys.stdout, args.format, args.after, since=since, until=until)
    finally:
        await store.close()
    return 0


def _utc(value: str | None) -> str | None:
    """An ISO 8601 time as the log records them (UTC), for comparing with recorded_at."""
    if value is None:
        return None
    from rivetr.adapters.eventstore.export import recorded_form

    return recorded_form(value)


def _export_verdict(report: ChainReport) -> str:
    """What a verified export proves, and what it cannot: links across a filter's gaps, and
    the content of lines whose password hash was redacted."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if report.gaps:
        verdict = (
            f"ok: {report.count} events, each matching its hash; the links hold"
            f" except across the {plural(report.gaps, 'gap')} the filter left"
        )
    else:
        verdict = f"ok: {report.count} events, hash chain intact"
    if report.redacted:
        verdict += (
            f"; {plural(report.redacted, 'line')} had a password hash redacted by the server:"
            " their place in the chain is checked, their content is not proven"
        )
    return verdict


async def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.eventstore.chain import ChainBroken, verify_export
    from rivetr.adapters.eventstore.export import read_jsonl_export, verify_store

    try:
        if args.file:
            with open(args.file, "rb") as file:
                report = verify_export(read_jsonl_export(file), filtered=args.filtered)
            print(_export_verdict(report))
            return 0
        else:
            if _no_data_dir(settings, args):
                return 2
            store = await _open_store(settings)
            try:
                count = await verify_store(store)
            finally:
                await store.close()
    except ChainBroken as exc:
        print(
            f"rivetr: hash chain broken at position {exc.position}: {exc.reason}", file=sys.stderr
        )
        return 1
    except ValueError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {count} events, hash chain intact")
    return 0


async def _projections_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened

    names = args.name or None
    async with opened(settings) as services:
        runner = services.runner
        try:
            position = await runner.rebuild(names)
        except KeyError as exc:
            print(f"rivetr: {exc.args[0]}", file=sys.stderr)
            return 2
        stopped = {name: why for name, why in runner.failures.items() if not names or name in names}
        unapplied = await runner.event_failures(names)
    rebuilt = ", ".join(args.name) if args.name else "all projections"
    for name, why in stopped.items():
        print(f"rivetr: projection {name} stopped: {why}", file=sys.stderr)
    for failure in unapplied:
        print(
            f"rivetr: projection {failure.projection} could not apply event {failure.position}"
            f" ({failure.type} on {failure.stream_id}): {failure.error}; that stream is set"
            f" aside in it ({failure.skipped} later events not applied)",
            file=sys.stderr,
        )
    if stopped or unapplied:
        print(f"rivetr: rebuilt {rebuilt} up to position {position}, with the errors above")
        return 1
    print(f"rebuilt {rebuilt} up to position {position}")
    return 0


async def _deploy(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            if args.command == "rollback":
                deployment_id = await services.deployments.rollback(cli_actor(), args.app, args.to)
            else:
                deployment_id = await services.deployments.request(
                    cli_actor(), args.app, commit=args.commit, trigger="cli"
                )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
        print(deployment_id)
        if not args.wait:
            print("requested; the running service deploys it (rivetr serve)", file=sys.stderr)
            return 0
        return await _follow(services, deployment_id)


async def _follow(services: Any, deployment_id: str) -> int:
    """Print the deployment's steps from the log, in order, through the one that ends the wait:
    0 when it went live, 1 when it failed or was cancelled.

    The state is folded from the very events printed, never read afresh: the log may already
    be further on than the subscription, and the steps in between must be printed too."""
    from rivetr.domain import deployment

    stream = deployment.stream_id(deployment_id)
    requested = (await services.store.read_stream(stream))[0]
    state = deployment.DeploymentState(deployment_id=deployment_id)
    async for recorded in services.store.subscribe(requested.position - 1):
        if recorded.stream_id != stream:
            continue
        state = deployment.evolve(state, recorded.event)
        print(_step(recorded), file=sys.stderr, flush=True)
        if state.status == "live" or state.finished:
            return 0 if state.status in ("live", "retired") else 1
    return 1


def _step(recorded: LoggedEvent) -> str:
    """One line for a deployment's step: its time and type, and why, when it says."""
    from rivetr.domain.events import DeploymentCancelled, DeploymentFailed, HealthProbed

    line = f"{recorded.recorded_at[11:19]} {recorded.type}"
    match recorded.event:
        case DeploymentFailed(step=step, reason=reason):
            return f"{line}: {step}: {reason}"
        case DeploymentCancelled(reason=reason):
            return f"{line}: {reason}"
        case HealthProbed(ok=False, status=status, error=error):
            return f"{line}: {error or f'HTTP {status}'}"
    return line


async def _logs(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.runtime.base import ContainerError
    from rivetr.bootstrap import opened
    from rivetr.service.queries.runtime_logs import NoLiveContainer, RuntimeLogs

    if args.tail < 0:
        print("rivetr: --tail must be 0 or more", file=sys.stderr)
        return 2
    async with opened(settings) as services:
        app = await services.read.apps.named(args.app)
        if app is None:
            print(f"rivetr: no application named {args.app!r}", file=sys.stderr)
            return 1
        runtime = await _connect_engine(settings)
        if runtime is None:
            return 1
        try:
            output = RuntimeLogs(services.read, lambda: runtime)
            lines = await output.lines(
                app.id, tail=args.tail, after=args.after, follow=args.follow, name=args.app
            )
            async for line in lines:
                print(f"{line.at} {line.text}" if args.timestamps else line.text, flush=True)
        except (NoLiveContainer, ContainerError, ValueError) as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
        finally:
            await runtime.close()
    return 0


async def _import_busybox(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image

    runtime = await _connect_engine(settings)
    if runtime is None:
        return 1
    try:
        image_id = await ensure_busybox_image(runtime, args.tag or BUSYBOX_IMAGE)
    except FileNotFoundError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 1
    finally:
        await runtime.close()
    print(f"{args.tag or BUSYBOX_IMAGE} {image_id}")
    return 0


async def _connect_engine(settings: Settings) -> Any:
    """The container engine the settings name (any that answers, when the service runs with
    none), or None, having said why."""
    from rivetr.adapters.runtime.base import EngineUnavailable
    from rivetr.adapters.runtime.detect import connect_runtime

    try:
        return await connect_runtime(
            settings.engine if settings.engine != "none" else "auto", settings.engine_url
        )
    except EngineUnavailable as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return None


async def _open_store(settings: Settings) -> Any:
    """The log of a data directory known to exist (`_no_data_dir`), never creating one."""
    from rivetr.adapters.eventstore.sqlite import SqliteEventStore

    return await SqliteEventStore.open(settings.data_path / "events.db")


def _no_data_dir(settings: Settings, args: argparse.Namespace) -> bool:
    """Whether the data directory holds no log (having said where it looked, and how to point
    at the right one): commands about existing data must not start an empty one."""
    data = settings.data_path.resolve()
    if (data / "events.db").is_file():
        return False
    try:
        config = Path(args.config) if args.config else None
        origin = source_of("data_dir", config, overrides={"data_dir": args.data_dir})
    except ConfigError:  # load_settings read it a moment ago: it changed since
        origin = None
    given = f"from {origin}" if origin else "the default: no --data-dir, RIVETR_DATA or rivetr.toml"
    found = "holds no events.db" if data.is_dir() else "does not exist"
    print(
        f"rivetr: the data directory {data} ({given}) {found}; run the command where"
        " `rivetr serve` runs, or name its data directory with --data-dir PATH or"
        " RIVETR_DATA=PATH",
        file=sys.stderr,
    )
    return True
