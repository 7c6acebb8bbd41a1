"""The jobs of one app or stack: their definitions, decided in one stream (`jobs-<owner id>`)
so that a job's name is unique within its app (or its stack's service) however many ask at once.

Whether the app or the stack exists is the service's to check (it authorises against it); this
aggregate holds only its jobs. An app or a stack deleted takes its jobs with it in the read
model, which is what the scheduler follows."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rivetr.domain import backup_schedule
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.job_commands import ChangeJob, CreateJob, DeleteJob, JobCommand
from rivetr.domain.job_events import (
    JobChanged,
    JobCreated,
    JobDeleted,
    OnMissed,
    Overlap,
    OwnerKind,
)

# the settings a change may carry, as JobChanged names them
SETTINGS = ("command", "schedule", "time_zone", "overlap", "timeout_s", "retries", "on_missed")


class Job(msgspec.Struct, frozen=True, kw_only=True):
    job_id: str
    name: str
    service: str | None
    command: str | list[str]
    schedule: str
    time_zone: str
    overlap: Overlap
    timeout_s: int
    retries: int
    on_missed: OnMissed
    enabled: bool


class JobsState(msgspec.Struct, frozen=True, kw_only=True):
    owner_id: str
    jobs: tuple[Job, ...] = ()


def stream_id(owner_id: str) -> str:
    return f"jobs-{owner_id}"


def evolve(state: JobsState, event: Event) -> JobsState:
    match event:
        case JobCreated():
            job = Job(
                job_id=event.job_id,
                name=event.name,
                service=event.service,
                command=event.command,
                schedule=event.schedule,
                time_zone=event.time_zone,
                overlap=event.overlap,
                timeout_s=event.timeout_s,
                retries=event.retries,
                on_missed=event.on_missed,
                enabled=event.enabled,
            )
            return msgspec.structs.replace(state, jobs=(*state.jobs, job))
        case JobChanged():
            given = {
                field: value
                for field in (*SETTINGS, "enabled")
                if (value := getattr(event, field)) is not msgspec.UNSET
            }
            jobs = tuple(
                msgspec.structs.replace(job, **given) if job.job_id == event.job_id else job
                for job in state.jobs
            )
            return msgspec.structs.replace(state, jobs=jobs)
        case JobDeleted():
            kept = tuple(job for job in state.jobs if job.job_id != event.job_id)
            return msgspec.structs.replace(state, jobs=kept)
        case _:
            return state


def fold(owner_id: str, events: Iterable[Event]) -> JobsState:
    state = JobsState(owner_id=owner_id)
    for event in events:
        state = evolve(state, event)
    return state


def find(state: JobsState, service: str | None, name: str) -> Job | None:
    """The job named `name` of the app (`service` None) or of the stack's `service`."""
    for job in state.jobs:
        if job.service == service and job.name == name:
            return job
    return None


def require(state: JobsState, service: str | None, name: str) -> Job:
    """Raises NotFound naming the job (field `job`)."""
    job = find(state, service, name)
    if job is None:
        where = f" of service {service!r}" if service is not None else ""
        raise NotFound(f"no job named {name!r}{where}", field="job")
    return job


def check_command(command: str | list[str]) -> None:
    """Raises InvalidCommand (field `command`) for a command that names nothing to run."""
    if isinstance(command, str):
        if not command.strip():
            raise InvalidCommand("the command is empty", field="command")
        if "\n" in command or "\r" in command or "\x00" in command:
            raise InvalidCommand("a shell command is one line", field="command")
    elif not command[0].strip():
        raise InvalidCommand("the command's first word (what runs) is empty", field="command")
    elif any("\x00" in word for word in command):
        raise InvalidCommand("a word of the command holds a NUL character", field="command")


def decide_create(
    state: JobsState, command: CreateJob, job_id: str, kind: OwnerKind
) -> list[Event]:
    """Raises AlreadyExists (field `name`) or InvalidCommand (the field at fault)."""
    if find(state, command.service, command.name) is not None:
        raise AlreadyExists(f"there is already a job named {command.name!r}", field="name")
    check_command(command.command)
    schedule = backup_schedule.validate(command.schedule, command.time_zone)
    return [
        JobCreated(
            job_id=job_id,
            owner_id=state.owner_id,
            kind=kind,
            service=command.service,
            name=command.name,
            command=command.command,
            schedule=schedule,
            time_zone=command.time_zone,
            overlap=command.overlap,
            timeout_s=command.timeout_s,
            retries=command.retries,
            on_missed=command.on_missed,
            enabled=command.enabled,
        )
    ]


def decide_change(state: JobsState, command: ChangeJob) -> list[Event]:
    """Only what differs is recorded; nothing differing, nothing is."""
    job = require(state, command.service, command.job)
    if command.command is not msgspec.UNSET:
        check_command(command.command)
    time_zone = job.time_zone if command.time_zone is msgspec.UNSET else command.time_zone
    schedule = job.schedule if command.schedule is msgspec.UNSET else command.schedule
    wanted = {
        field: getattr(command, field)
        for field in (*SETTINGS, "enabled")
        if getattr(command, field) is not msgspec.UNSET
    }
    if "schedule" in wanted or "time_zone" in wanted:
        wanted["schedule"] = backup_schedule.validate(schedule, time_zone)
    changed = {field: value for field, value in wanted.items() if getattr(job, field) != value}
    if not changed:
        return []
    return [JobChanged(job_id=job.job_id, **changed)]


def decide_delete(state: JobsState, command: DeleteJob) -> list[Event]:
    job = require(state, command.service, command.job)
    return [JobDeleted(job_id=job.job_id)]


def decide(state: JobsState, command: JobCommand) -> list[Event]:
    """Change or delete a job (creating one needs its new id: `decide_create`)."""
    match command:
        case ChangeJob():
            return decide_change(state, command)
        case DeleteJob():
            return decide_delete(state, command)
    raise TypeError(f"not decided on a job's definition: {type(command).__name__}")
