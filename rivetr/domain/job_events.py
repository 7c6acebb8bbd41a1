"""The facts of scheduled jobs, as members of the one tagged union in `events.py`.

A job is a command run on a schedule in a one-off container of an app's live release (or of one
service of a stack's). The jobs of one app or stack live in its stream `jobs-<owner id>`, so
that a name is unique there however many ask at once. Each run has a stream of its own,
`job-run-<id>`: asked for, then each attempt started and finished."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.settings import Count

# what happens to a run that falls due while one of the same job still runs: it is skipped,
# it stops the one running, or both run
Overlap = Literal["forbid", "replace", "allow"]
# what happens, at start, to the runs that fell due while Rivetr was down
OnMissed = Literal["run_once", "skip"]
OwnerKind = Literal["app", "stack"]
RunTrigger = Literal["schedule", "manual", "missed"]
RunOutcome = Literal["succeeded", "failed", "timed_out", "skipped", "replaced"]
# a process's exit status as engines report it (a signal's death is 128 + its number)
ExitCode = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=10.0**9)]


class JobCreated(Event, frozen=True, kw_only=True, tag="job.created"):
    job_id: str
    owner_id: str  # the app's or the stack's id
    kind: OwnerKind = "app"
    service: str | None = None  # a stack's service; None for an app
    name: str
    # argv, run as given; a string: one line run by `sh -c`
    command: str | list[str]
    schedule: str  # a cron expression in its normal form (`backup_schedule.validate`)
    time_zone: str = "UTC"
    overlap: Overlap = "forbid"
    timeout_s: Count = 3600
    retries: Count = 0
    on_missed: OnMissed = "skip"
    enabled: bool = True


class JobChanged(Event, frozen=True, kw_only=True, tag="job.changed"):
    """Only the settings present changed."""

    job_id: str
    command: str | list[str] | msgspec.UnsetType = msgspec.UNSET
    schedule: str | msgspec.UnsetType = msgspec.UNSET
    time_zone: str | msgspec.UnsetType = msgspec.UNSET
    overlap: Overlap | msgspec.UnsetType = msgspec.UNSET
    timeout_s: Count | msgspec.UnsetType = msgspec.UNSET
    retries: Count | msgspec.UnsetType = msgspec.UNSET
    on_missed: OnMissed | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class JobDeleted(Event, frozen=True, kw_only=True, tag="job.deleted"):
    job_id: str


class JobRunRequested(Event, frozen=True, kw_only=True, tag="job.run_requested"):
    """A run is due (its schedule, a missed time at start) or asked for ("run now"). The names
    are those of the moment, so that a message about the run needs nothing else."""

    run_id: str
    job_id: str
    job: str  # the job's name
    owner_id: str
    owner_name: str  # the app's or the stack's name
    kind: OwnerKind = "app"
    service: str | None = None
    trigger: RunTrigger = "schedule"
    scheduled_for: datetime | None = None  # the time its schedule named; None: asked for


class JobRunStarted(Event, frozen=True, kw_only=True, tag="job.run_started"):
    """One attempt's container started."""

    run_id: str
    job_id: str
    attempt: Count = 1
    image: str
    container: str


class JobRunFinished(Event, frozen=True, kw_only=True, tag="job.run_finished"):
    """One attempt ended (or the run never began: `skipped`, or failed before a container
    started). `final`: no attempt follows, this is the run's outcome."""

    run_id: str
    job_id: str
    job: str
    owner_id: str
    owner_name: str
    kind: OwnerKind = "app"
    service: str | None = None
    attempt: Count = 1
    outcome: RunOutcome
    exit_code: ExitCode | None = None  # None: no process ran, or it was killed
    duration_s: Seconds = 0.0
    reason: str | None = None  # why it failed, was skipped or was stopped
    final: bool = True
