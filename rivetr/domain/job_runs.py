"""One run of a job, in its stream `job-run-<id>`: asked for, then each attempt started and
finished, the last one `final`; and the scheduler's decisions, pure: when a job is next due,
what a run due while another runs does (the overlap policy), what the runs missed while Rivetr
was down come to, how long to wait before a retry, and what argv a command runs as."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import msgspec

from rivetr.domain import backup_schedule
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.event_base import Event
from rivetr.domain.job_events import (
    JobRunFinished,
    JobRunRequested,
    JobRunStarted,
    OnMissed,
    Overlap,
)

RunStatus = Literal["none", "requested", "running", "waiting", "finished"]
# the first retry waits this long, each next one twice as long, up to the cap
RETRY_FIRST_S = 10.0
RETRY_CAP_S = 600.0


class RunState(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    request: JobRunRequested | None = None
    # requested: no attempt yet; running: an attempt started; waiting: one failed and another
    # follows; finished: the last attempt ended
    status: RunStatus = "none"
    attempt: int = 0  # the attempt started last (or finished, when none started)
    outcome: str | None = None


def stream_id(run_id: str) -> str:
    return f"job-run-{run_id}"


def evolve(state: RunState, event: Event) -> RunState:
    match event:
        case JobRunRequested():
            return msgspec.structs.replace(state, request=event, status="requested")
        case JobRunStarted():
            return msgspec.structs.replace(state, status="running", attempt=event.attempt)
        case JobRunFinished():
            status: RunStatus = "finished" if event.final else "waiting"
            return msgspec.structs.replace(
                state, status=status, attempt=event.attempt, outcome=event.outcome
            )
        case _:
            return state


def fold(run_id: str, events: Iterable[Event]) -> RunState:
    state = RunState(run_id=run_id)
    for event in events:
        state = evolve(state, event)
    return state


def check(state: RunState, event: Event) -> None:
    """Raises IllegalTransition unless `event` may follow the run's history: a request opens
    it; an attempt starts after the request or after an attempt that was not the last; an
    attempt finishes once started (or the run ends before any started, as a skipped one or
    one that could not start); nothing follows the final attempt."""
    status = state.status
    match event:
        case JobRunRequested():
            allowed = status == "none"
        case JobRunStarted():
            allowed = (status == "requested" and event.attempt == 1) or (
                status == "waiting" and event.attempt == state.attempt + 1
            )
        case JobRunFinished():
            allowed = (status == "running" and event.attempt == state.attempt) or (
                status in ("requested", "waiting") and event.attempt == state.attempt + 1
            )
        case _:
            allowed = False
    if not allowed:
        raise IllegalTransition(
            f"run {state.run_id} is {status} (attempt {state.attempt}):"
            f" {type(event).__name__} does not follow"
        )


OverlapDecision = Literal["start", "skip", "replace"]


def on_overlap(policy: Overlap, running: int) -> OverlapDecision:
    """What a run that falls due does when `running` runs of its job are going: with none it
    starts; otherwise `forbid` skips it, `replace` stops those first, `allow` starts it too."""
    if running == 0 or policy == "allow":
        return "start"
    return "skip" if policy == "forbid" else "replace"


def next_due(schedule: str, time_zone: str, after: datetime) -> datetime:
    """The first time strictly after `after` the job's schedule names, in UTC."""
    return backup_schedule.next_after(schedule, time_zone, after)


MissedDecision = Literal["run", "skip"]


def missed(
    schedule: str, time_zone: str, on_missed: OnMissed, last: datetime, now: datetime
) -> tuple[MissedDecision, datetime] | None:
    """At start: whether a run fell due after `last` (the last time it was due, or since it
    was set up) and before `now`, and if so what becomes of it, with the first missed time.
    However many were missed, one run (or one skip) answers for them all."""
    due = next_due(schedule, time_zone, last)
    if due > now:
        return None
    return ("run" if on_missed == "run_once" else "skip"), due


def retry_delay_s(attempt: int) -> float:
    """How long to wait after failed attempt number `attempt` (1 for the first) before the
    next: 10 s, 20 s, 40 s... at most ten minutes."""
    return min(RETRY_FIRST_S * 2.0 ** max(attempt - 1, 0), RETRY_CAP_S)


def is_final(outcome: str, attempt: int, retries: int) -> bool:
    """Whether attempt number `attempt` ending with `outcome` ends the run: a success, a
    replaced or skipped run, or a failure with no retry left."""
    return outcome in ("succeeded", "replaced", "skipped") or attempt > retries


def argv(command: str | list[str]) -> list[str]:
    """What the container runs: argv as given; a string as one line of `sh -c`."""
    return ["sh", "-c", command] if isinstance(command, str) else list(command)
