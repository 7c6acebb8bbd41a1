"""`rivetr notifications`: a team's notification channels: list them (with their latest
attempts), set one, remove one, send a test. A channel's URL holds the service's token, so it is
read from $RIVETR_NOTIFY_URL or stdin's first line, never from the command line (where `ps` and
shell histories would keep it)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rivetr.cli import verbs
from rivetr.cli.shared import cli_actor
from rivetr.cli.verbs import Usage

URL_ENV = "RIVETR_NOTIFY_URL"


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    channels = sub.add_parser("notifications", help="a team's notification channels")
    actions = channels.add_subparsers(metavar="ACTION")
    output = verbs.output(common)

    def action(name: str, what: str, run: verbs.Verb, *, channel: bool = True) -> Any:
        parser = actions.add_parser(name, parents=[output], help=what)
        if channel:
            parser.add_argument("channel", help="the channel's name")
        parser.add_argument("--team", default="default")
        verbs.verb(parser, run, line)
        return parser

    action("list", "the team's channels and their latest attempts", _list, channel=False)
    put = action("set", "add or replace a channel", _set)
    put.description = (
        f"The channel's URL (an apprise URL, or a webhook's https:// endpoint) is read from"
        f" ${URL_ENV}, else from stdin's first line."
    )
    put.add_argument("--kind", required=True, help="email, slack, discord, telegram, ...")
    put.add_argument("--on", required=True, help="what it is told, separated by commas")
    put.add_argument("--projects", default="", help="only these projects (commas)")
    put.add_argument("--environments", default="", help="only these environments (commas)")
    put.add_argument("--new-secret", action="store_true", help="a webhook's new signing secret")
    action("remove", "remove a channel", _remove)
    action("test", "send a test notice now and say how it went", _test)


def line(item: Any) -> str:
    from rivetr.projections.notifications import DeliveryView
    from rivetr.service.commands.notifications import ChannelMade, ChannelShown

    match item:
        case ChannelShown():
            told = ",".join(item.on)
            head = "\t".join([item.name, item.kind, item.target, told])
            return "\n".join([head, *(f"  {line(d)}" for d in item.deliveries)])
        case ChannelMade(channel=channel, signing_secret=secret):
            shown = line(channel)
            return f"{shown}\nsigning secret (shown once): {secret}" if secret else shown
        case DeliveryView():
            reason = f": {item.reason}" if item.reason else ""
            return "\t".join([item.recorded_at, item.title, f"{item.outcome}{reason}"])
    return str(item)


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


async def _list(services: Any, args: argparse.Namespace) -> Any:
    return await services.notifications.every(cli_actor(), args.team)


async def _set(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.notification_commands import SetChannel

    url = os.environ.get(URL_ENV) or sys.stdin.readline().strip()
    if not url:
        raise Usage(f"give the channel's URL in ${URL_ENV} or on stdin")
    fields = {
        "team": args.team,
        "name": args.channel,
        "kind": args.kind,
        "url": url,
        "on": _listed(args.on),
        "projects": _listed(args.projects),
        "environments": _listed(args.environments),
        "new_secret": args.new_secret,
    }
    return await services.notifications.set(cli_actor(), msgspec.convert(fields, SetChannel))


async def _remove(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.notification_commands import RemoveChannel

    command = RemoveChannel(team=args.team, name=args.channel)
    await services.notifications.remove(cli_actor(), command)
    print(f"removed {args.channel}", file=sys.stderr)
    return 0


async def _test(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.notification_commands import SendTestNotice

    command = SendTestNotice(team=args.team, name=args.channel)
    tried = await services.notifications.test(cli_actor(), command)
    if not args.json:
        print(line(tried))
        return 0 if tried.outcome == "delivered" else 1
    return tried
