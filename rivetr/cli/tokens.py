"""`rivetr tokens`: mint, list and revoke API tokens; a new token's secret is printed once."""

from __future__ import annotations

import argparse
import sys

from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(metavar="ACTION")
    create = tokens.add_parser("create", parents=[common], help="mint a token, printed once")
    create.add_argument("--name", required=True, help="who or what will use it")
    create.add_argument("--scope", choices=["read", "deploy", "admin"], default="admin")
    create.add_argument(
        "--expires-in-days", type=int, metavar="N", help="stop working after N days"
    )
    create.add_argument("--team", help="act in this team only (default: every team)")
    create.add_argument("--project", help="act in this project of --team only")
    create.set_defaults(run=run_async(_tokens_create))
    listing = tokens.add_parser("list", parents=[common], help="list tokens (never secrets)")
    listing.set_defaults(run=run_async(_tokens_list), needs_data=True)
    revoke = tokens.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=run_async(_tokens_revoke), needs_data=True)


async def _tokens_create(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            token_id, secret = await services.tokens.create(
                cli_actor(), args.name, args.scope, args.expires_in_days, args.team, args.project
            )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(secret)
    print(
        f"token {token_id} ({args.scope}) created for {args.name!r}; it is shown only once.",
        file=sys.stderr,
    )
    return 0


async def _tokens_list(settings: Settings, _: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened

    async with opened(settings) as services:
        for token in await services.read.tokens.every():
            state = f"revoked {token.revoked_at}" if token.revoked_at else "active"
            if token.expires_at and not token.revoked_at:
                state += f" until {token.expires_at}"
            team = (token.team or "*") + (f"/{token.project}" if token.project else "")
            print(
                f"{token.token_id}\t{token.name}\t{token.scope}\t{team}\t{token.created_at}\t{state}"
            )
    return 0


async def _tokens_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            await services.tokens.revoke(cli_actor(), args.token_id)
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    return 0
