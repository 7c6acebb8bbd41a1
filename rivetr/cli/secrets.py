"""`rivetr secrets rotate`: a new sealing key, and every app's secrets, every shared variable,
every second factor's seed, every database's passwords, every backup target's secrets and
every compose stack's variables, git credentials and webhook secret sealed again with it."""

from __future__ import annotations

import argparse
import sys

from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    secrets = sub.add_parser("secrets", help="the key sealing secrets").add_subparsers(
        metavar="ACTION"
    )
    rotate = secrets.add_parser(
        "rotate", parents=[common], help="make a new key and seal every app's secrets with it"
    )
    rotate.set_defaults(run=run_async(_secrets_rotate), needs_data=True)


async def _secrets_rotate(settings: Settings, _: argparse.Namespace) -> int:
    from rivetr.adapters.secrets import SecretError
    from rivetr.bootstrap import opened
    from rivetr.service.commands.stack_reseal import reseal_stack

    async with opened(settings) as services:
        try:
            new_key = services.secrets.rotate()
            appended = 0
            apps = await services.read.apps.every()
            for app in apps:
                appended += await services.apps.reseal(cli_actor(), app.name)
            for user in await services.read.users.every():  # their second factors' seeds
                appended += await services.users.reseal_totp(cli_actor(), user.user_id)
            # teams', projects' and environments' shared variables
            appended += await services.variables.reseal(cli_actor())
            # databases' passwords, and backup targets' S3 secret keys and passphrases
            appended += await services.databases.reseal(cli_actor())
            appended += await services.backups.reseal_targets(cli_actor())
            for stack in await services.read.stacks.every():
                appended += await reseal_stack(services.stacks, cli_actor(), stack.stack_id)
            # notification channels' URLs and signing secrets
            appended += await services.notifications.reseal(cli_actor())
        except SecretError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
    print(
        f"new key {new_key}: sealed the secrets of {len(apps)} application(s) again"
        f" ({appended} event(s)); older keys stay in secrets.key to read the history"
    )
    return 0
