"""`rivetr projects` and `rivetr apps move`: list, create and delete projects and their
environments, and move an app between environments, through the same project service as the
API (`rivetr apps scale` is `scaling.py`'s). A project is named `team/project`, or by its slug
alone in the default team (or --team)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rivetr.cli.scaling import add_scale
from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    projects = sub.add_parser("projects", help="projects and their environments")
    actions = projects.add_subparsers(metavar="ACTION")
    listing = actions.add_parser(
        "list", parents=[common], help="each environment of each project, with its apps"
    )
    listing.set_defaults(run=run_async(_list), needs_data=True)
    create = actions.add_parser("create", parents=[common], help="create a project")
    _project_argument(create)
    create.add_argument("--name", default="", help="the name pages show (default: the slug)")
    create.add_argument(
        "--env", action="append", default=[], metavar="ENVIRONMENT", help="besides production"
    )
    create.set_defaults(run=run_async(_change), action="create", needs_data=True)
    delete = actions.add_parser("delete", parents=[common], help="delete an empty project")
    _project_argument(delete)
    delete.set_defaults(run=run_async(_change), action="delete", needs_data=True)

    env = actions.add_parser("env", help="a project's environments").add_subparsers(
        metavar="ACTION"
    )
    for action, what in (("create", "add an environment"), ("delete", "delete an empty one")):
        parser = env.add_parser(action, parents=[common], help=what)
        _project_argument(parser)
        parser.add_argument("environment")
        parser.set_defaults(run=run_async(_change), action=f"env {action}", needs_data=True)

    apps = sub.add_parser("apps", help="applications").add_subparsers(metavar="ACTION")
    move = apps.add_parser(
        "move", parents=[common], help="move an app to an environment of its team's projects"
    )
    move.add_argument("app")
    move.add_argument("project")
    move.add_argument("environment")
    move.set_defaults(run=run_async(_move), needs_data=True)
    add_scale(apps, common)


def _project_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="PROJECT or TEAM/PROJECT")
    parser.add_argument("--team", help="the project's team (default: the default team)")


def _named(args: argparse.Namespace) -> tuple[str, str]:
    team, _, project = args.project.rpartition("/")
    return team or args.team or "default", project


def _command(args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain import commands

    team, project = _named(args)
    fields: dict[str, Any] = {"team": team, "project": project}
    kind: type[Any]
    match args.action:
        case "create":
            kind = commands.CreateProject
            fields |= {"name": args.name, "environments": ["production", *args.env]}
        case "delete":
            kind = commands.DeleteProject
        case "env create":
            kind, fields["environment"] = commands.CreateEnvironment, args.environment
        case _:
            kind, fields["environment"] = commands.DeleteEnvironment, args.environment
    return msgspec.convert(fields, kind)


def _done(args: argparse.Namespace) -> str:
    team, project = _named(args)
    if args.action.startswith("env "):
        return f"environment {args.environment} of {team}/{project} {args.action[4:]}d"
    return f"project {team}/{project} {args.action}d"


async def _change(settings: Settings, args: argparse.Namespace) -> int:
    import msgspec

    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    try:
        command = _command(args)
    except msgspec.ValidationError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    async with opened(settings) as services:
        try:
            await services.projects.run(cli_actor(), command)
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(_done(args), file=sys.stderr)
    return 0


async def _list(settings: Settings, _: argparse.Namespace) -> int:
    """One line per environment: its project, its name, and its apps with where each stands
    (live, or its newest deployment's status)."""
    from rivetr.bootstrap import opened

    async with opened(settings) as services:
        for project in await services.project_reads.visible(cli_actor()):
            for environment in project.environments:
                apps = ", ".join(f"{r.name} ({_standing(r)})" for r in environment.resources)
                print(f"{project.team}/{project.project}\t{environment.environment}\t{apps or '-'}")
    return 0


def _standing(resource: Any) -> str:
    if resource.live_deployment:
        return "live"
    return resource.latest_status or "never deployed"


async def _move(settings: Settings, args: argparse.Namespace) -> int:
    import msgspec

    from rivetr.bootstrap import opened
    from rivetr.domain.commands import MoveApp
    from rivetr.domain.errors import DomainError

    try:
        command = msgspec.convert(
            {"name": args.app, "project": args.project, "environment": args.environment}, MoveApp
        )
    except msgspec.ValidationError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    async with opened(settings) as services:
        try:
            await services.projects.move(cli_actor(), command)
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(f"{args.app} is in {args.project}/{args.environment}", file=sys.stderr)
    return 0
