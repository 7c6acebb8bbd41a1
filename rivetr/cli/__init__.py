"""The `rivetr` command: `main` parses the arguments, loads the settings and runs the command;
each family of commands (serve, install, doctor, tokens, users, secrets, the log, projections,
deploy, promotion, logs, images, projects, variables, databases, control-plane backups, stacks,
templates, jobs) declares its arguments beside its code in a module of this package."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rivetr import __version__
from rivetr.adapters.migrations import log_schema
from rivetr.cli import (
    audit,
    control_plane,
    databases,
    deploy,
    doctor,
    images,
    install,
    jobs,
    logs,
    notifications,
    projections,
    projects,
    promotion,
    secrets,
    serve,
    servers,
    stacks,
    templates,
    tokens,
    users,
    variables,
)
from rivetr.cli.shared import no_data_dir, overrides
from rivetr.config import ConfigError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    if not hasattr(args, "run"):
        arguments.print_help()
        return 2
    try:
        settings = load_settings(
            Path(args.config) if args.config else None, overrides=overrides(args)
        )
    except ConfigError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if getattr(args, "needs_data", False) and no_data_dir(settings, args):
        return 2
    try:
        result: int = args.run(settings, args)
        return result
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rivetr ... | head` stopped reading: not a fault to trace back
        import os

        # Python would say so again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def parser() -> argparse.ArgumentParser:
    """Every command and its arguments, in the order `rivetr --help` lists them."""
    top = argparse.ArgumentParser(
        prog="rivetr", description="A small self-hosted deployment engine."
    )
    top.add_argument(
        "--version", action="version", version=f"rivetr {__version__} (log schema {log_schema()})"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default ./rivetr-data, $RIVETR_DATA)")
    common.add_argument("--config", help="rivetr.toml to read (default ./rivetr.toml)")
    sub = top.add_subparsers(metavar="COMMAND")
    families = (
        serve,
        install,
        doctor,
        tokens,
        audit,
        projections,
        deploy,
        promotion,
        logs,
        users,
        secrets,
        images,
        projects,
        variables,
        databases,
        control_plane,
        servers,
        stacks,
        templates,
        jobs,
        notifications,
    )
    for family in families:
        family.add_commands(sub, common)
    return top
