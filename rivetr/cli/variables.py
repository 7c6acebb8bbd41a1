"""`rivetr variables`: set, unset and list the shared variables of a team (`--team`), a project
(`--project`) or one of its environments (`--environment`); values are write-only, listed by
name only."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--team", default="default", help="the team (default: default)")
    where.add_argument("--project", help="a project of the team: its variables, not the team's")
    where.add_argument("--environment", help="an environment of --project: its variables")
    variables = sub.add_parser(
        "variables", help="shared variables of teams, projects and environments"
    ).add_subparsers(metavar="ACTION")
    setting = variables.add_parser(
        "set", parents=[common, where], help="set variables (NAME=VALUE ...)"
    )
    setting.add_argument("pairs", nargs="+", metavar="NAME=VALUE")
    setting.add_argument(
        "--scopes",
        help="where they go, comma-separated: build, runtime, preview (default runtime,preview)",
    )
    setting.add_argument(
        "--preview-value",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value pull-request previews take instead (repeatable)",
    )
    setting.set_defaults(run=run_async(_variables_set), needs_data=True)
    unset = variables.add_parser("unset", parents=[common, where], help="remove variables")
    unset.add_argument("names", nargs="+", metavar="NAME")
    unset.set_defaults(run=run_async(_variables_unset), needs_data=True)
    listing = variables.add_parser(
        "list", parents=[common, where], help="list names and scopes (never a value)"
    )
    listing.set_defaults(run=run_async(_variables_list), needs_data=True)


async def _variables_set(settings: Settings, args: argparse.Namespace) -> int:
    pairs = [pair.partition("=") for pair in args.pairs]
    if any(not sep for _, sep, _ in pairs):
        print("rivetr: give each variable as NAME=VALUE", file=sys.stderr)
        return 2
    extra: dict[str, Any] = {}
    if args.scopes is not None:
        kinds = {kind.strip() for kind in args.scopes.split(",") if kind.strip()}
        if not kinds <= {"build", "runtime", "preview"}:
            print("rivetr: --scopes takes build, runtime and preview", file=sys.stderr)
            return 2
        scope = {kind: kind in kinds for kind in ("build", "runtime", "preview")}
        extra["scopes"] = {name: scope for name, _, _ in pairs}
    previews = [pair.partition("=") for pair in args.preview_value]
    if any(not sep for _, sep, _ in previews):
        print("rivetr: give each --preview-value as NAME=VALUE", file=sys.stderr)
        return 2
    extra["preview"] = {name: value for name, _, value in previews}
    return await _change(settings, args, {name: value for name, _, value in pairs}, extra)


async def _variables_unset(settings: Settings, args: argparse.Namespace) -> int:
    return await _change(settings, args, dict.fromkeys(args.names))


async def _change(
    settings: Settings,
    args: argparse.Namespace,
    variables: dict[str, str | None],
    extra: dict[str, Any] | None = None,
) -> int:
    import msgspec

    from rivetr.bootstrap import opened
    from rivetr.domain.commands import ChangeProjectVariables, ChangeTeamVariables
    from rivetr.domain.errors import DomainError

    if args.environment and not args.project:
        print("rivetr: --environment needs --project", file=sys.stderr)
        return 2
    body: dict[str, Any] = {"team": args.team, "variables": variables, **(extra or {})}
    kind: type[ChangeTeamVariables | ChangeProjectVariables] = ChangeTeamVariables
    if args.project:
        body.update(project=args.project, environment=args.environment)
        kind = ChangeProjectVariables
    async with opened(settings) as services:
        try:
            command = msgspec.convert(body, kind)
            changed = await services.variables.change(cli_actor(), command)
        except (DomainError, msgspec.ValidationError) as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    said = [f"set {', '.join(changed.set)}" if changed.set else ""]
    said += [f"removed {', '.join(changed.unset)}" if changed.unset else ""]
    said += [f"scoped {', '.join(changed.scoped)}" if changed.scoped else ""]
    print("; ".join(s for s in said if s) or "nothing changed")
    if changed.apps:
        print(f"taken up at their next deployment by: {', '.join(changed.apps)}")
    return 0


async def _variables_list(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            shared = await services.variable_reads.names(
                cli_actor(), args.team, args.project, args.environment if args.project else None
            )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    for scope in shared.scopes:
        kinds = [kind for kind in ("build", "runtime", "preview") if getattr(scope, kind)]
        own = "\tits own preview value" if scope.preview and scope.preview_value else ""
        print(f"{scope.name}\t{','.join(kinds)}{own}")
    return 0
