"""`rivetr projections rebuild`: drop the read model's views (all, or those named) and replay the
log into them, saying which projection stopped or set a stream aside."""

from __future__ import annotations

import argparse
import sys

from rivetr.cli.shared import run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    projections = sub.add_parser("projections", help="the read model").add_subparsers(
        metavar="ACTION"
    )
    rebuild = projections.add_parser("rebuild", parents=[common], help="drop and replay")
    rebuild.add_argument("name", nargs="*", help="projections to rebuild (default: all)")
    rebuild.set_defaults(run=run_async(_projections_rebuild), needs_data=True)


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
