"""What the `rivetr` commands share: running a command's coroutine, the CLI's actor, the settings
given as flags, and opening the data directory's log or the container engine without creating
either."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from rivetr.config import ConfigError, Settings, source_of


def run_async(
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


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as command-line flags."""
    return {
        "data_dir": args.data_dir,
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
    }


async def connect_engine(settings: Settings) -> Any:
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


async def open_store(settings: Settings) -> Any:
    """The log of a data directory known to exist (`no_data_dir`), never creating one."""
    from rivetr.adapters.eventstore.sqlite import SqliteEventStore

    return await SqliteEventStore.open(settings.data_path / "events.db")


def no_data_dir(settings: Settings, args: argparse.Namespace) -> bool:
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


class StdinLines:
    """Secrets piped in, a line each (a terminal is asked without echo)."""

    def next(self, what: str) -> str:
        if sys.stdin.isatty():
            return getpass.getpass(f"{what}: ")
        return sys.stdin.readline().rstrip("\n")
