"""What users ask of scheduled jobs. A job belongs to an app (named as the API names it) or to
one service of a stack (by the stack's id); within it, a job is known by its name."""

from __future__ import annotations

from typing import Annotated

import msgspec

from rivetr.domain.commands import Command
from rivetr.domain.database_commands import CronText, ResourceId, TimeZone
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.job_events import OnMissed, Overlap
from rivetr.domain.settings import AppName, DnsLabel
from rivetr.domain.stack_commands import ServiceName

JobName = DnsLabel
MAX_WORD = 4096
ShellLine = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_WORD)]
Argv = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=MAX_WORD)]],
    msgspec.Meta(min_length=1, max_length=256),
]
CommandLine = ShellLine | Argv
TimeoutS = Annotated[int, msgspec.Meta(ge=1, le=7 * 86400, description="seconds, at most a week")]
Retries = Annotated[int, msgspec.Meta(ge=0, le=10)]


class JobCommand(Command, frozen=True, kw_only=True):
    """A job of an app (`app`) or of a stack's service (`stack_id` and `service`)."""

    app: AppName | None = None
    stack_id: ResourceId | None = None
    service: ServiceName | None = None

    def __post_init__(self) -> None:
        if (self.app is None) == (self.stack_id is None):
            raise InvalidCommand("a job belongs to an app or to a stack: name one", field="app")
        if (self.stack_id is None) != (self.service is None):
            raise InvalidCommand(
                "a stack's job runs in one of its services: name it (and only for a stack)",
                field="service",
            )


class CreateJob(JobCommand, frozen=True, kw_only=True):
    name: JobName
    # argv, run as given; a string: one line run by `sh -c`
    command: CommandLine
    schedule: CronText
    time_zone: TimeZone = "UTC"
    overlap: Overlap = "forbid"
    timeout_s: TimeoutS = 3600
    retries: Retries = 0
    on_missed: OnMissed = "skip"
    enabled: bool = True


class ChangeJob(JobCommand, frozen=True, kw_only=True):
    """A partial update: only the fields given change."""

    job: JobName
    command: CommandLine | msgspec.UnsetType = msgspec.UNSET
    schedule: CronText | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    overlap: Overlap | msgspec.UnsetType = msgspec.UNSET
    timeout_s: TimeoutS | msgspec.UnsetType = msgspec.UNSET
    retries: Retries | msgspec.UnsetType = msgspec.UNSET
    on_missed: OnMissed | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class DeleteJob(JobCommand, frozen=True, kw_only=True):
    job: JobName


class RunJob(JobCommand, frozen=True, kw_only=True):
    """Run the job now, whatever its schedule (and even when it is disabled)."""

    job: JobName
