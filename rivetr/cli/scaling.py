"""`rivetr apps scale`: how many copies of an app run, on which servers, balanced how, as the
API's PUT /apps/{name}/scale. A live app is redeployed from its live image by the running
service (`rivetr serve`), which this does not wait for: `rivetr deploy --wait` style
following is `rivetr logs` of the deployment it names."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rivetr.cli import verbs
from rivetr.cli.shared import cli_actor


def add_scale(
    apps: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    scale = apps.add_parser(
        "scale",
        parents=[verbs.output(common)],
        help="how many copies of an app run, and where",
        description="Set the app's copies whole: what is not given takes its default (one"
        " copy, anywhere, round robin). More than one copy, or a placement, runs on the"
        " servers (`rivetr servers init`).",
    )
    scale.add_argument("app")
    scale.add_argument("replicas", type=int, nargs="?", default=1, help="copies (default 1)")
    scale.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a label every server running a copy carries (repeatable)",
    )
    scale.add_argument("--spread", metavar="KEY", help="a label to spread the copies over")
    scale.add_argument(
        "--balance",
        choices=("round_robin", "least_connections"),
        default="round_robin",
        help="how the proxy shares requests between copies",
    )
    verbs.verb(scale, _scale, str)


async def _scale(services: Any, args: argparse.Namespace) -> str:
    import msgspec

    from rivetr.domain.scaling import ScaleApp

    placement: dict[str, Any] = {"constraints": verbs.pairs(args.constraint, "a constraint")}
    if args.spread is not None:
        placement["spread"] = args.spread
    body = {
        "name": args.app,
        "replicas": args.replicas,
        "placement": placement,
        "balance": args.balance,
    }
    command = msgspec.convert(body, ScaleApp)
    deployment_id = await services.scaling.scale(cli_actor(), command)
    if deployment_id is not None:
        print(f"redeploying its live image: deployment {deployment_id}", file=sys.stderr)
    where = command.placement.described()
    copies = "copy" if command.replicas == 1 else "copies"
    return f"{args.app}: {command.replicas} {copies}, {where}, {command.balance.replace('_', ' ')}"
