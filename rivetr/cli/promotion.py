"""`rivetr env clone` and `rivetr promote`: copy an environment's apps into another, and deploy
to an app the release live in its counterpart, through the same services as the API."""

from __future__ import annotations

import argparse
import sys

from rivetr.cli.deploy import reported
from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    env = sub.add_parser("env", help="environments of a project")
    env_sub = env.add_subparsers(metavar="ACTION")
    clone = env_sub.add_parser(
        "clone", parents=[common], help="copy every app of an environment into another"
    )
    clone.add_argument("environment", help="the environment copied, e.g. production")
    clone.add_argument("--to", required=True, dest="to_environment", help="e.g. staging")
    clone.add_argument("--team", default="default")
    clone.add_argument("--project", default="default")
    clone.add_argument("--to-project", help="another project of the team (default: the same)")
    clone.add_argument(
        "--name-pattern", default="{name}-{env}", help="{name} {env} {project} {from_env}"
    )
    clone.add_argument(
        "--domain-pattern",
        help="for each domain; also {domain} {sub} {zone} {new_name} (default: no domains)",
    )
    clone.add_argument("--create", action="store_true", help="make the environment if missing")
    clone.set_defaults(run=run_async(_clone), needs_data=True)
    promote = sub.add_parser(
        "promote", parents=[common], help="deploy to an app the release live in its counterpart"
    )
    promote.add_argument("app", help="the app deployed to, e.g. production's")
    promote.add_argument("--from", dest="from_app", help="default: the app's only counterpart")
    promote.add_argument("--release", help="a deployment id: it must be the live one")
    promote.add_argument("--wait", action="store_true", help="follow the steps until it ends")
    promote.set_defaults(run=run_async(_promote), needs_data=True)


async def _clone(settings: Settings, args: argparse.Namespace) -> int:
    import msgspec

    from rivetr.bootstrap import opened
    from rivetr.domain.commands import CloneEnvironment
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            command = msgspec.convert(
                {
                    "team": args.team,
                    "project": args.project,
                    "environment": args.environment,
                    "to_project": args.to_project,
                    "to_environment": args.to_environment,
                    "name_pattern": args.name_pattern,
                    "domain_pattern": args.domain_pattern,
                    "create_environment": args.create,
                },
                CloneEnvironment,
            )
            cloned = await services.clones.clone(cli_actor(), command)
        except (DomainError, msgspec.ValidationError) as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    for app in cloned.apps:
        domains = " ".join(app.domains)
        print(f"{app.from_app} -> {app.app}" + (f" ({domains})" if domains else ""))
    return 0


async def _promote(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            deployment_id = await services.promotions.promote(
                cli_actor(), args.app, from_app=args.from_app, release=args.release, trigger="cli"
            )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
        return await reported(services, deployment_id, args.wait)
