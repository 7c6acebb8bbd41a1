"""The jobs view: each scheduled job of an app or of a stack's service with its settings, the
last time its schedule named (what the scheduler counts missed runs from), and its newest runs
(a bounded list: `RUNS_KEPT` a job), each with its attempts' outcome, exit code and duration;
and the queries that read them. An app, a stack or a team deleted takes its jobs with it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import AppDeleted, TeamDeleted
from rivetr.domain.job_events import (
    JobChanged,
    JobCreated,
    JobDeleted,
    JobRunFinished,
    JobRunRequested,
    JobRunStarted,
    OnMissed,
    Overlap,
    OwnerKind,
)
from rivetr.domain.jobs import SETTINGS
from rivetr.domain.stack_events import StackDeleted
from rivetr.projections.base import tags, update_row
from rivetr.projections.reading import Queries, columns

RUNS_KEPT = 50  # a job's newest runs; the log keeps every one


class JobsProjection:
    name = "jobs"
    version = 1
    handles: frozenset[str] | None = tags(
        JobCreated,
        JobChanged,
        JobDeleted,
        JobRunRequested,
        JobRunStarted,
        JobRunFinished,
        AppDeleted,
        StackDeleted,
        TeamDeleted,
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS jobs (
                job_id TEXT PRIMARY KEY,
                owner_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                service TEXT,
                name TEXT NOT NULL,
                team TEXT,
                command TEXT NOT NULL,
                schedule TEXT NOT NULL,
                time_zone TEXT NOT NULL,
                overlap TEXT NOT NULL,
                timeout_s INTEGER NOT NULL,
                retries INTEGER NOT NULL,
                on_missed TEXT NOT NULL,
                enabled INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                set_at TEXT NOT NULL,
                last_due TEXT
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner_id, name)")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS job_runs (
                run_id TEXT PRIMARY KEY,
                job_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                trigger TEXT NOT NULL,
                scheduled_for TEXT,
                status TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                exit_code INTEGER,
                duration_s REAL,
                reason TEXT,
                container TEXT,
                requested_at TEXT NOT NULL,
                requested_by TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job_id, position)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS jobs")
        conn.execute("DROP TABLE IF EXISTS job_runs")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case JobCreated():
                _created(conn, body, event)
            case JobChanged():
                changes: dict[str, object] = {
                    field: value
                    for field in (*SETTINGS, "enabled")
                    if (value := getattr(body, field)) is not msgspec.UNSET
                }
                if "command" in changes:
                    changes["command"] = msgspec.json.encode(changes["command"]).decode()
                changes["set_at"] = event.recorded_at
                update_row(conn, "jobs", "job_id", body.job_id, changes)
            case JobDeleted():
                _forget(conn, "job_id = ?", body.job_id)
            case AppDeleted() | StackDeleted():
                if event.resource is not None:
                    _forget(conn, "owner_id = ?", event.resource)
            case TeamDeleted():
                _forget(conn, "team = ?", body.team)
            case JobRunRequested():
                _requested(conn, body, event)
            case JobRunStarted():
                update_row(
                    conn,
                    "job_runs",
                    "run_id",
                    body.run_id,
                    {"status": "running", "attempt": body.attempt, "container": body.container}
                    | _first_start(conn, body.run_id, event.recorded_at),
                )
            case JobRunFinished():
                update_row(
                    conn,
                    "job_runs",
                    "run_id",
                    body.run_id,
                    {
                        "status": body.outcome if body.final else "waiting",
                        "attempt": body.attempt,
                        "exit_code": body.exit_code,
                        "duration_s": body.duration_s,
                        "reason": body.reason,
                        "finished_at": event.recorded_at if body.final else None,
                    },
                )


def _created(conn: sqlite3.Connection, body: JobCreated, event: LoggedEvent) -> None:
    conn.execute(
        """INSERT OR REPLACE INTO jobs (job_id, owner_id, kind, service, name, team, command,
            schedule, time_zone, overlap, timeout_s, retries, on_missed, enabled, created_at,
            created_by, set_at, last_due)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)""",
        (
            body.job_id,
            body.owner_id,
            body.kind,
            body.service,
            body.name,
            event.team,
            msgspec.json.encode(body.command).decode(),
            body.schedule,
            body.time_zone,
            body.overlap,
            body.timeout_s,
            body.retries,
            body.on_missed,
            body.enabled,
            event.recorded_at,
            event.actor,
            event.recorded_at,
        ),
    )


def _requested(conn: sqlite3.Connection, body: JobRunRequested, event: LoggedEvent) -> None:
    if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (body.job_id,)).fetchone() is None:
        return  # of a job deleted since (its runs went with it)
    due = _utc(body.scheduled_for)
    conn.execute(
        """INSERT OR REPLACE INTO job_runs (run_id, job_id, position, trigger, scheduled_for,
            status, attempt, requested_at, requested_by)
        VALUES (?, ?, ?, ?, ?, 'requested', 0, ?, ?)""",
        (
            body.run_id,
            body.job_id,
            event.position,
            body.trigger,
            due,
            event.recorded_at,
            event.actor,
        ),
    )
    if due is not None:
        conn.execute(
            "UPDATE jobs SET last_due = MAX(COALESCE(last_due, ''), ?) WHERE job_id = ?",
            (due, body.job_id),
        )
    # only the newest runs are kept here: a job run each minute would otherwise grow the view
    # by 1,440 rows a day
    conn.execute(
        """DELETE FROM job_runs WHERE job_id = ? AND position <= COALESCE((SELECT position
            FROM job_runs WHERE job_id = ? ORDER BY position DESC LIMIT 1 OFFSET ?), -1)""",
        (body.job_id, body.job_id, RUNS_KEPT),
    )


def _first_start(conn: sqlite3.Connection, run_id: str, at: str) -> dict[str, object]:
    row = conn.execute("SELECT started_at FROM job_runs WHERE run_id = ?", (run_id,)).fetchone()
    return {"started_at": at} if row is not None and row[0] is None else {}


def _forget(conn: sqlite3.Connection, where: str, value: str) -> None:
    conn.execute(
        f"DELETE FROM job_runs WHERE job_id IN (SELECT job_id FROM jobs WHERE {where})", (value,)
    )
    conn.execute(f"DELETE FROM jobs WHERE {where}", (value,))


def _utc(moment: datetime | None) -> str | None:
    """A time as the view writes every one it compares: ISO 8601 in UTC, so text orders it."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    job_id: str
    owner_id: str
    kind: OwnerKind
    service: str | None
    name: str
    team: str | None
    command: str | list[str]
    schedule: str
    time_zone: str
    overlap: Overlap
    timeout_s: int
    retries: int
    on_missed: OnMissed
    enabled: bool
    created_at: str
    created_by: str
    set_at: str  # when it was created or last changed: missed runs count from here at least
    last_due: str | None  # the last time its schedule named that a run was asked for


class JobRunView(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    job_id: str
    trigger: str
    scheduled_for: str | None
    # requested, running, waiting (for a retry), or the outcome: succeeded, failed, timed_out,
    # skipped, replaced
    status: str
    attempt: int
    exit_code: int | None
    duration_s: float | None
    reason: str | None
    container: str | None
    requested_at: str
    requested_by: str
    started_at: str | None
    finished_at: str | None


_JOB = f"SELECT {columns(JobView)} FROM jobs"
_RUN = f"SELECT {columns(JobRunView)} FROM job_runs"


class JobQueries(Queries):
    async def of_owner(self, owner_id: str, service: str | None = None) -> list[JobView]:
        """The jobs of an app or a stack (with `service`, only that service's), by name."""
        if service is None:
            return await self._rows(
                JobView, f"{_JOB} WHERE owner_id = ? ORDER BY service, name", (owner_id,)
            )
        return await self._rows(
            JobView, f"{_JOB} WHERE owner_id = ? AND service = ? ORDER BY name", (owner_id, service)
        )

    async def named(self, owner_id: str, service: str | None, name: str) -> JobView | None:
        return await self._row(
            JobView,
            f"{_JOB} WHERE owner_id = ? AND service IS ? AND name = ?",
            (owner_id, service, name),
        )

    async def by_id(self, job_id: str) -> JobView | None:
        return await self._row(JobView, f"{_JOB} WHERE job_id = ?", (job_id,))

    async def every(self) -> list[JobView]:
        """Every job of every app and stack: what the scheduler keeps the time of."""
        return await self._rows(JobView, f"{_JOB} ORDER BY job_id")

    async def runs_of(self, job_id: str, limit: int = RUNS_KEPT) -> list[JobRunView]:
        """The job's newest runs, newest first."""
        return await self._rows(
            JobRunView, f"{_RUN} WHERE job_id = ? ORDER BY position DESC LIMIT ?", (job_id, limit)
        )

    async def run(self, run_id: str) -> JobRunView | None:
        return await self._row(JobRunView, f"{_RUN} WHERE run_id = ?", (run_id,))

    async def unfinished(self) -> list[JobRunView]:
        """The runs not over: asked for, running, or waiting for a retry."""
        return await self._rows(
            JobRunView,
            f"{_RUN} WHERE status IN ('requested', 'running', 'waiting') ORDER BY position",
        )
