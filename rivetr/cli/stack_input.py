"""What `rivetr stacks` and `rivetr templates` read off the command line: a stack named in its
place or by its id, `--route "SERVICE PORT DOMAIN..."`, `NAME=VALUE` assignments and a compose
file; what is not written as expected is a `Usage` error naming the flag and the form."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from rivetr.cli.shared import cli_actor
from rivetr.cli.verbs import Usage

_RESOURCE_ID = re.compile(r"[a-z2-7]{12}")  # the shape of `database_commands.ResourceId`
ROUTE_FORM = '"SERVICE PORT [DOMAIN ...]", e.g. "web 8080 blog.example.com"'


def place_arguments(parser: argparse.ArgumentParser, *, default: str) -> None:
    """--team, --project and --environment (not --env: that sets a stack's variables)."""
    parser.add_argument("--team", help=f"(default: {default})")
    parser.add_argument("--project", help=f"(default: {default})")
    parser.add_argument("--environment", help=f"(default: {default})")


def place(args: argparse.Namespace) -> dict[str, str]:
    """Where a new stack goes: the place given, else the default team's default project's
    production."""
    return {
        "team": args.team or "default",
        "project": args.project or "default",
        "environment": args.environment or "production",
    }


async def stack_named(services: Any, args: argparse.Namespace) -> Any:
    """The stack `args.stack` names: its id, else its name in the place given (any place the
    CLI reads, when none is, as long as only one stack there has that name).

    Raises:
        NotFound: no stack has that id or name there.
        InvalidCommand: several stacks have that name; the place (or the id) says which.
    """
    from rivetr.domain.errors import InvalidCommand, NotFound

    text: str = args.stack
    reads = services.stack_reads
    if _RESOURCE_ID.fullmatch(text):
        try:
            return await reads.one(cli_actor(), text)
        except NotFound:
            pass  # a name may have an id's shape
    every = await reads.every(cli_actor(), args.team, args.project, args.environment)
    named = [view for view in every if view.name == text]
    if len(named) == 1:
        return named[0]
    given = [args.team, args.project, args.environment]
    where = " in " + "/".join(part or "*" for part in given) if any(given) else ""
    if not named:
        raise NotFound(f"no stack named {text!r}{where}, and none with that id")
    places = ", ".join(f"{v.team}/{v.project}/{v.environment} ({v.stack_id})" for v in named)
    raise InvalidCommand(
        f"{len(named)} stacks are named {text!r}: {places}; give its id, or its place with"
        " --team, --project and --environment",
        field="stack",
    )


def routes(texts: list[str]) -> list[dict[str, Any]]:
    """Each `--route` as the API takes it (the service, port and domains are checked by the
    command they go into)."""
    found = []
    for text in texts:
        parts = text.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise Usage(f"--route {text!r}: write it as {ROUTE_FORM}")
        found.append({"service": parts[0], "port": int(parts[1]), "domains": parts[2:]})
    return found


def assignments(texts: list[str], flag: str) -> dict[str, str]:
    """`NAME=VALUE` each; a bare `NAME` takes its value from this command's own environment,
    so that a secret need not stand on the command line (where `ps` and shell histories keep
    it)."""
    values: dict[str, str] = {}
    for text in texts:
        name, equals, value = text.partition("=")
        if not name:
            raise Usage(f"{flag} {text!r}: write it as NAME=VALUE (or NAME, from the environment)")
        if not equals:
            if name not in os.environ:
                raise Usage(f"{flag} {name}: no '=VALUE', and ${name} is not set either")
            value = os.environ[name]
        values[name] = value
    return values


def compose_text(path: str) -> str:
    """The compose file at `path` (`-`: stdin), as text."""
    import sys

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Usage(f"--compose-file {path}: {getattr(exc, 'strerror', None) or exc}") from None
