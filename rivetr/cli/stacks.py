"""`rivetr stacks`: make, list, show, deploy, roll back and delete compose stacks, set their
variables and read their releases and release logs, through the same services as the API (the
running service does the work). STACK is a stack's name in its place, or its id."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from rivetr.cli import verbs
from rivetr.cli.shared import cli_actor
from rivetr.cli.stack_follow import WAIT_S, follow
from rivetr.cli.stack_input import (
    ROUTE_FORM,
    assignments,
    compose_text,
    place,
    place_arguments,
    routes,
    stack_named,
)
from rivetr.cli.verbs import Usage, Verb


class StackDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A stack and its releases, newest first: what `rivetr stacks show` answers."""

    stack: Any
    releases: list[Any]


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    stacks = sub.add_parser("stacks", help="compose stacks and their releases")
    actions = stacks.add_subparsers(metavar="ACTION")
    output = verbs.output(common)

    listing = actions.add_parser("list", parents=[output], help="the stacks, by place")
    place_arguments(listing, default="every one you read")
    verb(listing, _list)

    create = actions.add_parser("create", parents=[output], help="make a stack")
    create.add_argument("name")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--compose-file", metavar="PATH", help="the compose file, inline (-: stdin)"
    )
    source.add_argument("--git-url", metavar="URL", help="a repository holding the compose file")
    create.add_argument("--branch", help="(with --git-url; default main)")
    create.add_argument("--compose-path", help="(with --git-url; default compose.yaml)")
    create.add_argument("--route", action="append", default=[], help=ROUTE_FORM)
    create.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="a variable (NAME alone:"
        " its value from this shell's environment)"
    )  # fmt: skip
    place_arguments(create, default="default/default/production")
    verb(create, _create)

    def on_stack(name: str, what: str, run: Verb) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[output], help=what)
        parser.add_argument("stack", help="its name (in --team/--project/--environment) or id")
        place_arguments(parser, default="any, if the name is only one stack's")
        verb(parser, run)
        return parser

    on_stack("show", "its settings, routes, variable names and releases", _show)
    deploy = on_stack("deploy", "release the whole stack again", _deploy)
    deploy.add_argument("--commit", help="a commit SHA (default: the branch head)")
    _waiting(deploy)
    rollback = on_stack("rollback", "a new release on an earlier release's images", _rollback)
    rollback.add_argument("--to", required=True, metavar="RELEASE", help="a release that served")
    _waiting(rollback)
    on_stack("releases", "its releases, newest first", _releases)
    logs = on_stack("logs", "a release's log: builds, steps, services' last lines", _logs)
    logs.add_argument("--release", metavar="R", help="(default: the newest)")
    logs.add_argument("-n", "--tail", type=int, default=1000, help="the last N lines")
    env = on_stack("env", "set or unset its variables (none given: their names)", _env)
    env.add_argument("set", nargs="*", metavar="NAME=VALUE", help="NAME alone: from $NAME")
    env.add_argument("--unset", action="append", default=[], metavar="NAME")
    on_stack("delete", "delete it (its named volumes stay)", _delete)


def verb(parser: argparse.ArgumentParser, run: Verb) -> None:
    verbs.verb(parser, run, line)


def _waiting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="follow it until live or failed")
    parser.add_argument("--timeout", type=float, default=WAIT_S, help="seconds (with --wait)")


def line(item: Any) -> str:
    """A stack or a release on a tab-separated line; a stack shown whole on several."""
    from rivetr.projections.stacks import StackReleaseView, StackView

    match item:
        case StackView():
            standing = "live" if item.live_release_id else item.last_status or "never deployed"
            place = f"{item.team}/{item.project}/{item.environment}"
            return "\t".join([item.stack_id, item.name, place, _source(item), standing])
        case StackReleaseView():
            why = f"{item.failed_service or 'release'}: {item.failure}" if item.failure else ""
            sha = (item.commit_sha or "")[:12] or "-"
            fields = [item.release_id, item.status, item.trigger, sha, item.requested_at, why]
            return "\t".join(fields)
        case StackDetail(stack=stack, releases=releases):
            return "\n".join(_detail(stack, releases))
    return str(item)


def _source(view: Any) -> str:
    if view.inline:
        return "inline compose file"
    return f"{view.git_url} {view.branch} {view.compose_path}"


def _detail(stack: Any, releases: list[Any]) -> list[str]:
    routed = [f"{r.service}:{r.port} {' '.join(r.domains) or '(no domain)'}" for r in stack.routes]
    shown = [
        f"stack:      {stack.name} ({stack.stack_id})",
        f"place:      {stack.team}/{stack.project}/{stack.environment}",
        f"source:     {_source(stack)}",
        f"template:   {stack.template or '-'}",
        f"routes:     {'; '.join(routed) or '-'}",
        f"variables:  {', '.join(stack.variables) or '-'} (values sealed, never shown)",
        f"webhook:    {'on' if stack.webhook else 'off'}",
        f"live:       {stack.live_release_id or '-'}",
        "releases:" if releases else "releases:   none yet",
    ]
    return shown + [f"  {line(release)}" for release in releases]


async def _list(services: Any, args: argparse.Namespace) -> Any:
    return await services.stack_reads.every(cli_actor(), args.team, args.project, args.environment)


async def _create(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.stack_commands import CreateStack

    fields: dict[str, Any] = {
        "name": args.name,
        **place(args),
        "routes": routes(args.route),
        "variables": assignments(args.env, "--env"),
    }
    if args.compose_file is not None:
        if args.branch is not None or args.compose_path is not None:
            raise Usage("--branch and --compose-path go with --git-url, not --compose-file")
        fields["compose"] = compose_text(args.compose_file)
    else:
        fields["git_url"] = args.git_url
        fields["branch"] = args.branch or "main"
        fields["compose_path"] = args.compose_path or "compose.yaml"
    command = msgspec.convert(fields, CreateStack)
    stack_id, _ = await services.stacks.create(cli_actor(), command)
    return await services.stack_reads.one(cli_actor(), stack_id)


async def _show(services: Any, args: argparse.Namespace) -> Any:
    stack = await stack_named(services, args)
    releases = await services.stack_reads.releases(cli_actor(), stack.stack_id)
    return StackDetail(stack=stack, releases=releases)


async def _releases(services: Any, args: argparse.Namespace) -> Any:
    stack = await stack_named(services, args)
    return await services.stack_reads.releases(cli_actor(), stack.stack_id)


async def _deploy(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.stack_commands import DeployStack

    stack = await stack_named(services, args)
    fields = {"stack_id": stack.stack_id, "commit": args.commit, "trigger": "cli"}
    release_id, _ = await services.stacks.deploy(cli_actor(), msgspec.convert(fields, DeployStack))
    return await started(services, args, stack.stack_id, release_id)


async def _rollback(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.stack_commands import RollBackStack

    stack = await stack_named(services, args)
    command = msgspec.convert({"stack_id": stack.stack_id, "to": args.to}, RollBackStack)
    release_id, _ = await services.stacks.roll_back(cli_actor(), command)
    return await started(services, args, stack.stack_id, release_id)


async def started(services: Any, args: argparse.Namespace, stack_id: str, release_id: str) -> int:
    """Print the release asked for (its id; with --json the API's answer), then with --wait
    follow it to its end."""
    found = await services.stack_reads.release(cli_actor(), stack_id, release_id)
    if args.json:
        answer = {"release_id": release_id, "release": found.release}
        print(msgspec.json.encode(answer).decode(), flush=True)
    else:
        print(release_id, flush=True)
    if args.wait:
        return await follow(services, release_id, args.timeout)
    print("requested; the running service deploys it (rivetr serve)", file=sys.stderr)
    return 0


async def _logs(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.cli.backups import resource_id

    if args.tail < 0:
        raise Usage("--tail must be 0 or more")
    stack = await stack_named(services, args)
    release = resource_id(args.release) if args.release else None
    log = await services.stack_reads.release_log(cli_actor(), stack.stack_id, release, args.tail)
    if args.json:
        return log
    if not log.lines:
        print(f"release {log.release_id} is {log.status}: no log yet", file=sys.stderr)
    for text in log.lines:
        print(text)
    return 0


async def _env(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.stack_commands import SetStackVariables

    values: dict[str, str | None] = dict(assignments(args.set, "env"))
    both = sorted(set(values) & set(args.unset))
    if both:
        raise Usage(f"set and unset at once: {', '.join(both)}")
    values |= dict.fromkeys(args.unset)
    stack = await stack_named(services, args)
    if values:
        command = msgspec.convert(
            {"stack_id": stack.stack_id, "variables": values}, SetStackVariables
        )
        await services.stacks.set_variables(cli_actor(), command)
        stack = await services.stack_reads.one(cli_actor(), stack.stack_id)
        print(f"variables of {stack.name} changed; the next deploy takes them", file=sys.stderr)
    if args.json:
        return {"stack_id": stack.stack_id, "variables": stack.variables}
    for name in stack.variables:
        print(name)
    return 0


async def _delete(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.stack_commands import DeleteStack

    stack = await stack_named(services, args)
    await services.stacks.delete(cli_actor(), DeleteStack(stack_id=stack.stack_id))
    print(
        f"stack {stack.name} deleted: its containers and networks go, its named volumes stay",
        file=sys.stderr,
    )
    return 0
