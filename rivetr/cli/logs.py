"""`rivetr logs`: what an app's running container writes, as the container engine keeps it (the
last lines, then new ones with `--follow`)."""

from __future__ import annotations

import argparse
import sys

from rivetr.cli.shared import connect_engine, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    logs = sub.add_parser(
        "logs", parents=[common], help="what an app's running container writes (the engine's)"
    )
    logs.add_argument("app")
    logs.add_argument("-n", "--tail", type=int, default=100, help="the last N lines (default 100)")
    logs.add_argument("-f", "--follow", action="store_true", help="then follow new lines")
    logs.add_argument("--after", help="only the lines after this time (a line's timestamp)")
    logs.add_argument("-t", "--timestamps", action="store_true", help="show each line's time")
    logs.set_defaults(run=run_async(_logs), needs_data=True)


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
        runtime = await connect_engine(settings)
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
