"""`rivetr doctor`: what stands between this server and working: the container engine, ports 80
and 443, each domain's DNS, disk space, the clock, the key file's mode, the databases' backups
and the certificates, each finding with what to do. Exit status 1 when something fails."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

import msgspec

from rivetr.cli.shared import connect_engine, run_async
from rivetr.config import Settings

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    doctor = sub.add_parser(
        "doctor", parents=[common], help="check the engine, ports, DNS, disk, clock and backups"
    )
    doctor.add_argument("--json", action="store_true", help="the findings as JSON")
    doctor.set_defaults(run=run_async(_doctor), needs_data=True)


async def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.service.doctor.probes import examine

    async def engine() -> str:
        runtime = await connect_engine(settings)
        if runtime is None:
            raise RuntimeError(f"none reached (engine = {settings.engine})")
        try:
            info = await runtime.ping()
        finally:
            await runtime.close()
        return f"{info.kind} {info.version} at {info.url}"

    async with opened(settings) as services:
        head = await services.store.head()
        newest = await services.store.read_all(after=head - 1, limit=1) if head else []
        at = datetime.fromisoformat(newest[0].recorded_at) if newest else None
        control = await services.control_plane.every()
        found = await examine(settings, services.read, engine, at, control)
    if args.json:
        sys.stdout.write(msgspec.json.encode(found).decode() + "\n")
    else:
        width = max(len(f.check) for f in found)
        for finding in found:
            print(f"{MARKS[finding.status]}  {finding.check:<{width}}  {finding.detail}")
            if finding.action:
                print(f"      {'':<{width}}  -> {finding.action}")
        counts = {s: sum(1 for f in found if f.status == s) for s in MARKS}
        print(f"\n{counts['ok']} ok, {counts['warn']} to look at, {counts['fail']} failing")
    return 1 if any(f.status == "fail" for f in found) else 0
