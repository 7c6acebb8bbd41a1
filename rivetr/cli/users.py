"""`rivetr users create-admin`: the owner account, its password read from stdin or prompted for
twice on a terminal."""

from __future__ import annotations

import argparse
import getpass
import sys

from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    users = sub.add_parser("users", help="accounts").add_subparsers(metavar="ACTION")
    admin = users.add_parser(
        "create-admin",
        parents=[common],
        help="create the owner account; the password is read from stdin or prompted for",
    )
    admin.add_argument("--email", required=True)
    admin.set_defaults(run=run_async(_users_create_admin))


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


async def _users_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    try:
        password = _read_password()
    except ValueError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 1
    async with opened(settings) as services:
        try:
            user_id, role, adopted = await services.setup.create_admin(
                cli_actor(), args.email, password
            )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(f"created {user_id} ({role} of the default team); sign in at /api/v1/auth/login")
    if adopted:
        print(f"the {len(adopted)} earlier token(s) now belong to {user_id}: {', '.join(adopted)}")
    return 0
