"""`rivetr jobs`: an app's (`--app`) or a stack service's (`--stack`, `--service`) scheduled jobs:
list, show (with its newest runs), create, change, delete, run now, and a run's log, through
the same services as the API (the running service runs them)."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import msgspec

from rivetr.cli import verbs
from rivetr.cli.shared import cli_actor
from rivetr.cli.stack_input import place_arguments, stack_named
from rivetr.cli.verbs import Usage, Verb

SCHEDULE_FORM = "a cron expression (minute hour day month weekday) or @hourly, @daily..."


class JobDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A job and its newest runs: what `rivetr jobs show` answers."""

    job: Any
    runs: list[Any]


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    jobs = sub.add_parser("jobs", help="scheduled jobs of apps and stack services")
    actions = jobs.add_subparsers(metavar="ACTION")
    output = verbs.output(common)

    def on_owner(name: str, what: str, run: Verb, *, job: bool = True) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[output], help=what)
        if job:
            parser.add_argument("job", help="the job's name")
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--app", help="the app whose job it is")
        owner.add_argument("--stack", help="the stack (its name or id), with --service")
        parser.add_argument("--service", help="the stack's service the job runs in")
        place_arguments(parser, default="any, if the stack's name is only one stack's")
        verbs.verb(parser, run, line)
        return parser

    on_owner("list", "the jobs, by name", _list, job=False)
    on_owner("show", "a job and its newest runs", _show)
    create = on_owner("create", "make a job", _create)
    create.add_argument("--schedule", required=True, help=SCHEDULE_FORM)
    _settings(create)
    change = on_owner("change", "change a job's settings (only those given)", _change)
    change.add_argument("--schedule", help=SCHEDULE_FORM)
    _settings(change)
    on_owner("delete", "delete a job (its runs stay in the log)", _delete)
    on_owner("run", "run a job now (its overlap policy still holds)", _run)
    log = actions.add_parser("log", parents=[output], help="a run's log")
    log.add_argument("run_id")
    verbs.verb(log, _log, line)


def _settings(parser: argparse.ArgumentParser) -> None:
    command = parser.add_mutually_exclusive_group()
    command.add_argument("--shell", metavar="LINE", help="a command line, run by `sh -c`")
    command.add_argument(
        "--argv", metavar="LINE", help="the command's words, split as a shell splits them, run as"
        " given (no shell runs them)"
    )  # fmt: skip
    parser.add_argument("--time-zone", help="an IANA zone its hours are read in (default UTC)")
    parser.add_argument("--overlap", choices=["forbid", "replace", "allow"])
    parser.add_argument("--timeout", type=int, metavar="SECONDS")
    parser.add_argument("--retries", type=int)
    parser.add_argument("--on-missed", choices=["run_once", "skip"])
    enabled = parser.add_mutually_exclusive_group()
    enabled.add_argument("--enable", dest="enabled", action="store_const", const=True)
    enabled.add_argument("--disable", dest="enabled", action="store_const", const=False)


def line(item: Any) -> str:
    """A job or a run on a tab-separated line; a job shown whole on several."""
    from rivetr.projections.jobs import JobRunView, JobView

    match item:
        case JobView():
            command = item.command if isinstance(item.command, str) else " ".join(item.command)
            where = item.service or "-"
            state = "enabled" if item.enabled else "disabled"
            return "\t".join([item.name, where, item.schedule, item.time_zone, state, command])
        case JobRunView():
            took = "-" if item.duration_s is None else f"{item.duration_s:.1f}s"
            code = "-" if item.exit_code is None else str(item.exit_code)
            fields = [item.run_id, item.status, item.trigger, item.requested_at, took, code]
            return "\t".join([*fields, item.reason or ""])
        case JobDetail(job=job, runs=runs):
            return "\n".join([line(job), *(f"  {line(run)}" for run in runs)])
    return str(item)


async def _owner(services: Any, args: argparse.Namespace) -> dict[str, str | None]:
    if args.app is not None:
        if args.service is not None:
            raise Usage("--service goes with --stack")
        return {"app": args.app}
    if args.service is None:
        raise Usage("a stack's job runs in one of its services: give --service")
    return {"stack_id": (await stack_named(services, args)).stack_id, "service": args.service}


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags give (those left out are not changed, or take their default)."""
    fields: dict[str, Any] = {
        "command": args.shell if args.shell is not None else _words(args.argv),
        "schedule": args.schedule,
        "time_zone": args.time_zone,
        "overlap": args.overlap,
        "timeout_s": args.timeout,
        "retries": args.retries,
        "on_missed": args.on_missed,
        "enabled": args.enabled,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _words(line: str | None) -> list[str] | None:
    if line is None:
        return None
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise Usage(f"--argv: {exc}") from None


async def _list(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.service.queries.jobs import JobOwner

    owner = JobOwner(**await _owner(services, args))
    return await services.job_reads.listed(cli_actor(), owner)


async def _show(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.service.queries.jobs import JobOwner

    owner = JobOwner(**await _owner(services, args))
    job = await services.job_reads.one(cli_actor(), owner, args.job)
    return JobDetail(job=job, runs=await services.job_reads.runs(cli_actor(), owner, args.job))


async def _create(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.job_commands import CreateJob

    given = _given(args)
    if "command" not in given:
        raise Usage("what does the job run? --shell LINE, or --argv LINE")
    fields = {**await _owner(services, args), "name": args.job, **given}
    return await services.jobs.create(cli_actor(), msgspec.convert(fields, CreateJob))


async def _change(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.job_commands import ChangeJob

    fields = {**await _owner(services, args), "job": args.job, **_given(args)}
    return await services.jobs.change(cli_actor(), msgspec.convert(fields, ChangeJob))


async def _delete(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.job_commands import DeleteJob

    fields = {**await _owner(services, args), "job": args.job}
    await services.jobs.delete(cli_actor(), msgspec.convert(fields, DeleteJob))
    return 0


async def _run(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.job_commands import RunJob

    fields = {**await _owner(services, args), "job": args.job}
    return await services.jobs.run_now(cli_actor(), msgspec.convert(fields, RunJob))


async def _log(services: Any, args: argparse.Namespace) -> Any:
    job, run = await services.job_reads.run(cli_actor(), args.run_id)
    print(await services.job_reads.log(job, run), end="", flush=True)
    return 0
