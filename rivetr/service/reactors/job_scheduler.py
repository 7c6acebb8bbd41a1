"""The scheduler of jobs: it sleeps until the next time a job's schedule names (or until a job
is created, changed or deleted, which may move that time), asks for each run that falls due,
and takes up each run asked for (by its schedule, or by someone: "run now"), applying the job's
overlap policy against the runs of the same job this process is carrying out.

At start, runs a previous process left unfinished are recorded failed (before anything follows
the log), the runs its schedule named while Rivetr was down come to one run or one skip per
job (its `on_missed`), and, once the engine answers, the job containers no run of this process
owns are removed (a `kill -9` leaves them)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import anyio
from anyio.abc import TaskGroup

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    EngineUnavailable,
)
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.errors import DomainError
from rivetr.domain.events import AppDeleted, TeamDeleted
from rivetr.domain.job_events import (
    JobChanged,
    JobCreated,
    JobDeleted,
    JobRunRequested,
    RunTrigger,
)
from rivetr.domain.job_runs import missed, next_due, on_overlap
from rivetr.domain.stack_events import StackDeleted
from rivetr.projections.jobs import JobView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.apps import new_app_id
from rivetr.service.reactors.job_runner import Ending, JobRunner, RunningRun
from rivetr.service.reactors.job_specs import JOB_RUN_LABEL

log = logging.getLogger(__name__)

# the longest nap: the wall clock is looked at again at least this often (a suspended machine,
# a clock set by NTP), one wake-up every few minutes, which costs nothing
MAX_NAP_S = 300.0
_WAKING = (JobCreated, JobChanged, JobDeleted, AppDeleted, StackDeleted, TeamDeleted)
OwnerName = Callable[[JobView], Awaitable[str | None]]


class JobScheduler:
    def __init__(
        self,
        store: EventStore,
        read: ReadModel,
        runner: JobRunner,
        clock: Clock,
        owner_name: OwnerName,
    ) -> None:
        self.store = store
        self.read = read
        self.runner = runner
        self.clock = clock
        self.owner_name = owner_name  # the app's or stack's name now; None: it is gone
        self.running: dict[str, dict[str, RunningRun]] = {}  # job id -> run id -> run
        self._taken: set[str] = set()  # runs this process took up
        self._last: dict[str, datetime] = {}  # job id -> the last due time it asked for
        self._changed = anyio.Event()
        self._group: TaskGroup | None = None

    async def fail_interrupted(self) -> list[str]:
        """Record the runs a previous process left unfinished as failed; their ids."""
        ended = []
        for view in await self.read.jobs.unfinished():
            state = await self.runner.recorder.state(view.run_id)
            if state.request is None or state.status == "finished":
                continue
            job = await self.read.jobs.by_id(view.job_id)
            run = RunningRun(state.request, job) if job is not None else None
            if run is None:
                continue
            attempt = state.attempt + (0 if state.status == "running" else 1)
            reason = (
                "Rivetr was stopped before the run began"
                if state.status == "requested"
                else "Rivetr stopped while the run went on"
            )
            try:
                await self.runner.finish(run, attempt, Ending("failed", reason=reason), final=True)
            except IllegalTransition:
                continue
            ended.append(view.run_id)
        return ended

    async def sweep(self, runtime: ContainerRuntime) -> list[str]:
        """Remove the job containers of runs this process does not carry out; their names."""
        ours = {run for runs in self.running.values() for run in runs}
        removed: list[str] = []
        try:
            found = await runtime.list_containers({MANAGED_LABEL: "true"})
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not list job containers: %s", exc)
            return removed
        for container in found:
            run_id = container.labels.get(JOB_RUN_LABEL)
            if run_id is None or run_id in ours:
                continue
            if await self.read.jobs.run(run_id) is None and run_id in self._taken:
                continue  # asked for a moment ago: its view row is on its way
            try:
                await runtime.remove_container(container.name, force=True)
            except (ContainerError, EngineUnavailable) as exc:
                log.warning("could not remove job container %s: %s", container.name, exc)
                continue
            removed.append(container.name)
        return removed

    async def run(self, after: int) -> None:
        """Follow the log from `after` and keep the schedule, the runs under this task."""
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                group.start_soon(self.follow, after)
                group.start_soon(self.schedule)
        finally:
            self._group = None

    async def follow(self, after: int) -> None:
        """Take up the runs asked for after `after`; wake the schedule when jobs change."""
        async for recorded in self.store.subscribe(after):
            event = recorded.event
            if isinstance(event, JobRunRequested) and event.run_id not in self._taken:
                await self.take_up(event)
            elif isinstance(event, _WAKING):
                self._changed.set()

    async def schedule(self) -> None:
        """Catch up on the runs missed while down, then ask for each run as it falls due."""
        now = self.clock.now()
        for job in await self.read.jobs.every():
            if job.enabled:
                await self._missed(job, now)
        while True:
            now = self.clock.now()
            upcoming = await self.tick(now)
            nap = MAX_NAP_S if upcoming is None else (upcoming - now).total_seconds()
            await self._nap(min(max(nap, 0.0), MAX_NAP_S))

    async def tick(self, now: datetime) -> datetime | None:
        """Ask for every run due by `now` (one per job however many it missed); the next time
        one falls due."""
        upcoming: datetime | None = None
        for job in await self.read.jobs.every():
            if not job.enabled:
                continue
            try:
                due = next_due(job.schedule, job.time_zone, self._baseline(job))
                if due <= now:
                    self._last[job.job_id] = now
                    await self.request(job, "schedule", due)
                    due = next_due(job.schedule, job.time_zone, now)
            except DomainError as exc:
                log.warning("job %s not run: %s", job.job_id, exc)
                continue
            upcoming = due if upcoming is None else min(upcoming, due)
        return upcoming

    async def request(
        self, job: JobView, trigger: RunTrigger, due: datetime | None, skip: str | None = None
    ) -> str | None:
        """Ask for a run of `job` and take it up (or, with `skip`, record it skipped for that
        reason); its id, or None when the job's app or stack is gone."""
        name = await self.owner_name(job)
        if name is None:
            return None
        run_id = new_app_id()
        self._taken.add(run_id)
        request = JobRunRequested(
            run_id=run_id,
            job_id=job.job_id,
            job=job.name,
            owner_id=job.owner_id,
            owner_name=name,
            kind=job.kind,
            service=job.service,
            trigger=trigger,
            scheduled_for=due,
        )
        await self.runner.recorder.record(run_id, request, team=job.team, owner_id=job.owner_id)
        run = RunningRun(request, job)
        if skip is not None:
            await self.runner.finish(run, 1, Ending("skipped", reason=skip), final=True)
        else:
            await self.take_up(request, job)
        return run_id

    async def take_up(self, request: JobRunRequested, job: JobView | None = None) -> None:
        """Start the run, as the job's overlap policy says, beside or instead of the runs of
        the same job going on; or record it skipped."""
        self._taken.add(request.run_id)
        job = job or await self.read.jobs.by_id(request.job_id)
        if job is None:
            return  # deleted since it was asked for
        going = self.running.setdefault(job.job_id, {})
        decision = on_overlap(job.overlap, len(going))
        run = RunningRun(request, job)
        if decision == "skip":
            reason = f"run {next(iter(going))} was still going (the overlap policy is forbid)"
            await self.runner.finish(run, 1, Ending("skipped", reason=reason), final=True)
            return
        if decision == "replace":
            for older in list(going.values()):
                older.replaced_by = request.run_id
                older.cancel()
                await older.done.wait()
        going[request.run_id] = run
        assert self._group is not None, "runs are taken up under run()"
        self._group.start_soon(self._carry_out, run)

    async def _carry_out(self, run: RunningRun) -> None:
        with anyio.CancelScope() as scope:
            run.cancel = scope.cancel
            if run.replaced_by is not None:
                scope.cancel()  # replaced before it began: recorded so by the runner
            try:
                await self.runner.carry_out(run)
            except Exception:
                log.exception("job run %s crashed", run.request.run_id)
            finally:
                self.running.get(run.job.job_id, {}).pop(run.request.run_id, None)

    async def _missed(self, job: JobView, now: datetime) -> None:
        try:
            found = missed(job.schedule, job.time_zone, job.on_missed, self._baseline(job), now)
        except DomainError as exc:
            log.warning("job %s not run: %s", job.job_id, exc)
            return
        self._last[job.job_id] = now
        if found is None:
            return
        decision, due = found
        skip = None if decision == "run" else "missed while Rivetr was down (on_missed is skip)"
        await self.request(job, "missed", due, skip)

    def _baseline(self, job: JobView) -> datetime:
        """Since when its schedule counts: the last due time asked for, or when the job was
        last set (made, changed, enabled), whichever is later."""
        times = [datetime.fromisoformat(job.set_at)]
        if job.last_due is not None:
            times.append(datetime.fromisoformat(job.last_due))
        if job.job_id in self._last:
            times.append(self._last[job.job_id])
        return max(times)

    async def _nap(self, seconds: float) -> None:
        """Sleep `seconds`, or until a job changes. In real time: the clock port tells the time
        of day, but a test's virtual clock is moved on by what it drives, never by an idle
        scheduler."""
        with anyio.move_on_after(seconds):
            await self._changed.wait()
        if self._changed.is_set():
            self._changed = anyio.Event()
