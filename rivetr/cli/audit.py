"""`rivetr events export` and `rivetr audit verify`: the log written out as JSONL or CSV (all of
it, a time range, or one app's events), and its hash chain checked, in the data directory or in
an exported file."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rivetr.cli.shared import no_data_dir, open_store, run_async
from rivetr.config import Settings

if TYPE_CHECKING:
    from rivetr.adapters.eventstore.base import LoggedEvent
    from rivetr.adapters.eventstore.chain import ChainReport


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    events = sub.add_parser("events", help="the event log").add_subparsers(metavar="ACTION")
    export = events.add_parser("export", parents=[common], help="write the log to stdout")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--after", type=int, default=0, help="start after this position")
    export.add_argument("--from", dest="since", help="recorded at or after (ISO 8601, UTC)")
    export.add_argument("--to", dest="until", help="recorded before (ISO 8601, UTC)")
    export.add_argument("--app", help="only the events about this app (verify with --filtered)")
    export.set_defaults(run=run_async(_events_export), needs_data=True)

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(metavar="ACTION")
    verify = audit.add_parser("verify", parents=[common], help="check the log's hash chain")
    verify.add_argument("--file", help="verify an exported JSONL file instead of the data dir")
    verify.add_argument(
        "--filtered", action="store_true", help="the file was exported for one app: allow gaps"
    )
    verify.set_defaults(run=run_async(_audit_verify))


async def _events_export(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.eventstore.export import write_export

    try:
        since, until = _utc(args.since), _utc(args.until)
    except ValueError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 2
    if args.app:
        from rivetr.bootstrap import opened

        async with opened(settings) as services:
            named = await services.read.apps.named(args.app)
            if named is None:
                print(f"rivetr: no application named {args.app!r}", file=sys.stderr)
                return 1

            def about_app(event: LoggedEvent) -> bool:
                return event.resource == named.id

            await write_export(
                services.store, sys.stdout, args.format, args.after,
                since=since, until=until, keep=about_app,
            )  # fmt: skip
        return 0
    store = await open_store(settings)
    try:
        await write_export(store, sys.stdout, args.format, args.after, since=since, until=until)
    finally:
        await store.close()
    return 0


def _utc(value: str | None) -> str | None:
    """An ISO 8601 time as the log records them (UTC), for comparing with recorded_at."""
    if value is None:
        return None
    from rivetr.adapters.eventstore.export import recorded_form

    return recorded_form(value)


def _export_verdict(report: ChainReport) -> str:
    """What a verified export proves, and what it cannot: links across a filter's gaps, and
    the content of lines whose password hash was redacted."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if report.gaps:
        verdict = (
            f"ok: {report.count} events, each matching its hash; the links hold"
            f" except across the {plural(report.gaps, 'gap')} the filter left"
        )
    else:
        verdict = f"ok: {report.count} events, hash chain intact"
    if report.redacted:
        verdict += (
            f"; {plural(report.redacted, 'line')} had a password hash redacted by the server:"
            " their place in the chain is checked, their content is not proven"
        )
    return verdict


async def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.eventstore.chain import ChainBroken, verify_export
    from rivetr.adapters.eventstore.export import read_jsonl_export, verify_store

    try:
        if args.file:
            with open(args.file, "rb") as file:
                report = verify_export(read_jsonl_export(file), filtered=args.filtered)
            print(_export_verdict(report))
            return 0
        else:
            if no_data_dir(settings, args):
                return 2
            store = await open_store(settings)
            try:
                count = await verify_store(store)
            finally:
                await store.close()
    except ChainBroken as exc:
        print(
            f"rivetr: hash chain broken at position {exc.position}: {exc.reason}", file=sys.stderr
        )
        return 1
    except ValueError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {count} events, hash chain intact")
    return 0
