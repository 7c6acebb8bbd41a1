"""For any generated history of jobs created, changed and deleted (decided by the domain), runs
asked for, started and finished (as the run's state machine allows), and apps deleted, the jobs
view applied as events arrive equals it rebuilt from zero; each owner's jobs are those the
domain folds from its stream; and no job keeps more runs than the view's bound."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain import job_runs, jobs
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.errors import DomainError
from rivetr.domain.event_base import Event
from rivetr.domain.events import AppDeleted
from rivetr.domain.job_commands import ChangeJob, CreateJob, DeleteJob
from rivetr.domain.job_events import JobRunFinished, JobRunRequested, JobRunStarted
from rivetr.projections import jobs as view
from tests.unit.projections.two_runners import TwoRunners

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


async def check(directory: Path, history: list[tuple[str, str, str, str, int]]) -> None:
    defined: dict[str, list[Event]] = {owner: [] for owner in OWNERS}
    runs: dict[str, list[Event]] = {}
    kept, view.RUNS_KEPT = view.RUNS_KEPT, KEPT
    try:
        async with TwoRunners(directory, ["jobs", "job_runs"]) as runners:
            for number, (kind, owner, name, run_id, n) in enumerate(history):
                stream, events = step(defined, runs, number, kind, owner, name, run_id, n)
                if not events:
                    continue
                meta = EventMeta(actor=f"user:{number}", team="acme", resource=owner)
                await runners.append(stream, events, meta)
                if stream.startswith("jobs-"):
                    defined[owner] += events
                elif stream.startswith("job-run-"):
                    runs.setdefault(run_id, []).extend(events)
                else:
                    defined[owner] = []  # its jobs are gone with it from the view
            built = await runners.same_from_zero()
            read = await runners.read()
            try:
                for owner, events in defined.items():
                    folded = [
                        (j.job_id, j.name, j.retries, j.enabled)
                        for j in jobs.fold(owner, events).jobs
                    ]
                    shown = await read.jobs.of_owner(owner)
                    assert sorted(folded) == sorted(
                        (j.job_id, j.name, j.retries, j.enabled) for j in shown
                    )
                    for job in shown:
                        assert len(await read.jobs.runs_of(job.job_id, limit=100)) <= KEPT
            finally:
                await read.close()
            await runners.same_rebuilt(built)
    finally:
        view.RUNS_KEPT = kept


def step(
    defined: dict[str, list[Event]],
    runs: dict[str, list[Event]],
    number: int,
    kind: str,
    owner: str,
    name: str,
    run_id: str,
    n: int,
) -> tuple[str, list[Event]]:
    """The stream and events of one step of the history, as the domain decides it (none when
    it refuses)."""
    state = jobs.fold(owner, defined[owner])
    try:
        if kind == "create":
            command = CreateJob(app="web", name=name, command=["true"], schedule=f"{n} * * * *")
            return jobs.stream_id(owner), jobs.decide_create(
                state, command, f"{owner}{name}{number}", "app"
            )
        if kind == "change":
            change = ChangeJob(app="web", job=name, retries=n, enabled=n % 2 == 0)
            return jobs.stream_id(owner), jobs.decide(state, change)
        if kind == "delete":
            return jobs.stream_id(owner), jobs.decide(state, DeleteJob(app="web", job=name))
        if kind == "gone":
            return f"app-{owner}", [AppDeleted(name="web")]
        return run_step(state, runs, kind, name, run_id, n)
    except (DomainError, IllegalTransition):
        return "", []


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
