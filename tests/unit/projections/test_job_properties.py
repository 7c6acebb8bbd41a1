"""For any generated history of jobs created, changed and deleted (decided by the domain), runs
asked for, started and finished (as the run's state machine allows), and apps deleted, the jobs
view applied as events arrive equals it rebuilt from zero; each owner's jobs are those the
domain folds from its stream; and no job keeps more runs than the view's bound."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain import job_runs, jobs
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.errors import DomainError
from rivetr.domain.event_base import Event
from rivetr.domain.events import AppDeleted
from rivetr.domain.job_commands import ChangeJob, CreateJob, DeleteJob
from rivetr.domain.job_events import JobRunFinished, JobRunRequested, JobRunStarted
from rivetr.projections import jobs as view
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner

OWNERS = ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]
NAMES = ["backup", "report"]
RUNS = [f"r{n}" for n in range(8)]
KEPT = 3
DAY = datetime(2026, 5, 1, tzinfo=UTC)

steps = st.tuples(
    st.sampled_from(
        ["create", "change", "delete", "gone", "finish"] + ["request", "start", "final"] * 2
    ),
    st.sampled_from(OWNERS),
    st.sampled_from(NAMES),
    st.sampled_from(RUNS),
    st.integers(0, 3),
)


def dump(path: Path) -> list[list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return [sorted(conn.execute(f"SELECT * FROM {t}")) for t in ("jobs", "job_runs")]
    finally:
        conn.close()


async def check(directory: Path, history: list[tuple[str, str, str, str, int]]) -> None:
    store = InMemoryEventStore()
    incremental = ProjectionRunner(store, directory / "incremental.db", all_projections())
    from_zero = ProjectionRunner(store, directory / "from-zero.db", all_projections())
    await incremental.open()
    await from_zero.open()
    defined: dict[str, list[Event]] = {owner: [] for owner in OWNERS}
    runs: dict[str, list[Event]] = {}
    kept, view.RUNS_KEPT = view.RUNS_KEPT, KEPT
    try:
        for number, (kind, owner, name, run_id, n) in enumerate(history):
            state = jobs.fold(owner, defined[owner])
            stream, events = jobs.stream_id(owner), []
            try:
                if kind == "create":
                    command = CreateJob(
                        app="web", name=name, command=["true"], schedule=f"{n} * * * *"
                    )
                    events = jobs.decide_create(state, command, f"{owner}{name}{number}", "app")
                elif kind == "change":
                    change = ChangeJob(app="web", job=name, retries=n, enabled=n % 2 == 0)
                    events = jobs.decide(state, change)
                elif kind == "delete":
                    events = jobs.decide(state, DeleteJob(app="web", job=name))
                elif kind == "gone":
                    stream, events = f"app-{owner}", [AppDeleted(name="web")]
                else:
                    stream, events = run_step(state, runs, kind, name, run_id, n)
            except (DomainError, IllegalTransition):
                continue
            if not events:
                continue
            meta = EventMeta(actor=f"user:{number}", team="acme", resource=owner)
            await store.append(stream, ANY_VERSION, events, meta)
            if stream.startswith("jobs-"):
                defined[owner] += events
            elif stream.startswith("job-run-"):
                runs.setdefault(run_id, []).extend(events)
            else:
                defined[owner] = []  # its jobs are gone with it from the view
            await incremental.catch_up()
        assert await from_zero.catch_up() == await store.head()
        assert incremental.failures == {} == from_zero.failures
        built = dump(directory / "incremental.db")
        assert built == dump(directory / "from-zero.db")
        read = await ReadModel.open(directory / "incremental.db")
        try:
            for owner, events in defined.items():
                folded = [
                    (j.job_id, j.name, j.retries, j.enabled) for j in jobs.fold(owner, events).jobs
                ]
                shown = await read.jobs.of_owner(owner)
                assert sorted(folded) == sorted(
                    (j.job_id, j.name, j.retries, j.enabled) for j in shown
                )
                for job in shown:
                    assert len(await read.jobs.runs_of(job.job_id, limit=100)) <= KEPT
        finally:
            await read.close()
        assert await incremental.rebuild() == await store.head()
        assert dump(directory / "incremental.db") == built
    finally:
        view.RUNS_KEPT = kept
        await incremental.close()
        await from_zero.close()


def run_step(
    state: jobs.JobsState, runs: dict[str, list[Event]], kind: str, name: str, run_id: str, n: int
) -> tuple[str, list[Event]]:
    """The next event of run `run_id` (of the job named `name`, when it is asked for)."""
    run = job_runs.fold(run_id, runs.get(run_id, []))
    job = jobs.find(state, None, name)
    names = {"owner_id": state.owner_id, "owner_name": "web"}
    event: Event
    if kind == "request":
        if job is None:
            return "", []
        due = DAY + timedelta(minutes=n)
        event = JobRunRequested(
            run_id=run_id,
            job_id=job.job_id,
            job=name,
            trigger="schedule",
            scheduled_for=due,
            **names,
        )
    else:
        if run.request is None:
            return "", []
        job_id, attempt = run.request.job_id, run.attempt
        if kind == "start":
            event = JobRunStarted(
                run_id=run_id, job_id=job_id, attempt=attempt + 1, image="i", container=f"c{n}"
            )
        else:
            event = JobRunFinished(
                run_id=run_id,
                job_id=job_id,
                job=run.request.job,
                attempt=attempt + (0 if run.status == "running" else 1),
                outcome="succeeded" if n == 0 else "failed",
                exit_code=n,
                duration_s=float(n),
                final=kind == "final",
                **names,
            )
    job_runs.check(run, event)
    return job_runs.stream_id(run_id), [event]


@given(st.lists(steps, min_size=5, max_size=60))
@settings(max_examples=60, deadline=None)
def test_jobs_applied_as_they_arrive_equal_them_rebuilt_and_the_domain(
    history: list[tuple[str, str, str, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(check, Path(directory), history)
