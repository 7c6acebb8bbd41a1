"""One run of a job, attempt by attempt: its container made from the live release
(`job_specs`), its output kept in the run's log as it comes, stopped when it outlives the job's
timeout, always removed after; a failed attempt retried after a growing pause while retries are
left. Every attempt's start and end is an event; a run stopped for a newer one (the `replace`
policy) ends `replaced`. The engine going away fails the attempt with that reason."""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from rivetr.adapters.clock import Clock
from rivetr.adapters.logs import DeploymentLog, LogStore, job_folder
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    ContainerError,
    ContainerInfo,
    ContainerRuntime,
    EngineUnavailable,
)
from rivetr.adapters.secrets import SecretError
from rivetr.domain.compose.where import ComposeError
from rivetr.domain.job_events import JobRunFinished, JobRunRequested, JobRunStarted, RunOutcome
from rivetr.domain.job_runs import is_final, retry_delay_s
from rivetr.domain.references import UnresolvedReference
from rivetr.projections.jobs import JobView
from rivetr.service.reactors.job_recorder import RunRecorder
from rivetr.service.reactors.job_specs import STOP_GRACE_S, Made, NoRelease
from rivetr.service.reactors.stack_specs import PlanError

log = logging.getLogger(__name__)

_GOING = frozenset({"running", "created", "restarting"})  # the engines' words for not over
EXIT_POLL_S = 2.0
DRAIN_S = 5.0  # how long the output may trail the exit (or the stop) before it is given up

# what keeps an attempt from starting, each with a message a user can act on
CANNOT_START = (
    NoRelease,
    ContainerError,
    EngineUnavailable,
    SecretError,
    UnresolvedReference,
    ComposeError,
    PlanError,
)
MakeSpec = Callable[[JobView, str, int], Awaitable[Made]]


@dataclass
class Ending:
    outcome: RunOutcome
    exit_code: int | None = None
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class RunningRun:
    """A run this process is carrying out; `replaced_by` is set before it is cancelled for a
    newer run of its job."""

    request: JobRunRequested
    job: JobView
    replaced_by: str | None = None
    done: anyio.Event = field(default_factory=anyio.Event)
    cancel: Callable[[], None] = lambda: None  # set once its task runs


class JobRunner:
    def __init__(
        self,
        recorder: RunRecorder,
        runtime: Callable[[], ContainerRuntime | None],
        clock: Clock,
        logs: LogStore,
        make_spec: Callable[[JobView, str, int], Awaitable[Made]],
    ) -> None:
        self.recorder = recorder
        self.runtime = runtime
        self.clock = clock
        self.logs = logs
        self.make_spec = make_spec

    async def carry_out(self, run: RunningRun) -> None:
        """Every attempt of the run, until one is final."""
        request, job = run.request, run.job
        output = self.logs.open(job_folder(job.job_id), request.run_id)
        attempt = 0
        try:
            while True:
                attempt += 1
                output.write("rivetr", f"attempt {attempt} of {job.retries + 1}")
                ending = await self._attempt(run, attempt, output)
                final = is_final(ending.outcome, attempt, job.retries)
                output.write("rivetr", f"{ending.outcome}: {ending.reason or 'exit code 0'}")
                await self.finish(run, attempt, ending, final=final)
                if final:
                    return
                pause = retry_delay_s(attempt)
                output.write("rivetr", f"retrying in {pause:g} s")
                await self.clock.sleep(pause)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._cancelled(run, attempt, output)
            raise
        finally:
            output.close()
            run.done.set()

    async def _cancelled(self, run: RunningRun, attempt: int, output: DeploymentLog) -> None:
        """Stopped for a newer run: recorded `replaced` (a stop of Rivetr itself is recorded
        at the next start, when the run is found unfinished)."""
        if run.replaced_by is None:
            return
        reason = f"replaced by run {run.replaced_by} (the job's overlap policy is replace)"
        output.write("rivetr", reason)
        state = await self.recorder.state(run.request.run_id)
        number = attempt if state.status == "running" else state.attempt + 1
        with contextlib.suppress(Exception):
            await self.finish(run, number, Ending("replaced", reason=reason), final=True)

    async def finish(self, run: RunningRun, attempt: int, ending: Ending, *, final: bool) -> None:
        request = run.request
        await self.recorder.record(
            request.run_id,
            JobRunFinished(
                run_id=request.run_id,
                job_id=request.job_id,
                job=request.job,
                owner_id=request.owner_id,
                owner_name=request.owner_name,
                kind=request.kind,
                service=request.service,
                attempt=attempt,
                outcome=ending.outcome,
                exit_code=ending.exit_code,
                duration_s=round(ending.seconds, 3),
                reason=ending.reason,
                final=final,
            ),
            team=run.job.team,
            owner_id=request.owner_id,
        )

    async def _attempt(self, run: RunningRun, attempt: int, output: DeploymentLog) -> Ending:
        runtime = self.runtime()
        if runtime is None:
            return Ending("failed", reason="the container engine is unavailable")
        try:
            made = await self.make_spec(run.job, run.request.run_id, attempt)
            spec = made.spec
            if made.network is not None:
                await runtime.create_network(made.network, {MANAGED_LABEL: "true"})
            await runtime.remove_container(spec.name, force=True)  # a restart's leftover
            output.write("rivetr", f"running {spec.command} in {spec.image} as {spec.name}")
            await runtime.run_container(spec)
        except CANNOT_START as exc:
            output.write("rivetr", f"the container did not start: {exc}")
            return Ending("failed", reason=f"the container did not start: {exc}")
        started = self.clock.monotonic()
        try:
            await self.recorder.record(
                run.request.run_id,
                JobRunStarted(
                    run_id=run.request.run_id,
                    job_id=run.job.job_id,
                    attempt=attempt,
                    image=spec.image,
                    container=spec.name,
                ),
                team=run.job.team,
                owner_id=run.job.owner_id,
            )
            ending = await self._until_done(runtime, spec.name, run.job.timeout_s, output)
        except (ContainerError, EngineUnavailable) as exc:
            ending = Ending("failed", reason=f"the container engine failed: {exc}")
        finally:
            with anyio.CancelScope(shield=True):
                await _removed(runtime, spec.name)
        ending.seconds = self.clock.monotonic() - started
        return ending

    async def _until_done(
        self, runtime: ContainerRuntime, name: str, timeout_s: int, output: DeploymentLog
    ) -> Ending:
        """Wait for the container to exit, or stop it at the deadline (in real time, as the
        engine runs it: not the clock port's, which a test moves on at will), its output
        followed into the run's log meanwhile.

        Podman answers a log stream only once there is output, to a thread no cancellation
        reaches: the container is stopped before the follower is given up, which ends its
        stream, so a silent command cannot hold the run past its timeout."""
        last: deque[str] = deque(maxlen=1)
        streamed = anyio.Event()
        exited = False

        async def follow() -> None:
            try:
                async for line in runtime.log_lines(name, tail=-1, follow=True):
                    output.write("job", line.text)
                    last.append(line.text)
            except (ContainerError, EngineUnavailable) as exc:
                output.write("rivetr", f"its output could not be followed: {exc}")
            finally:
                streamed.set()

        info: ContainerInfo | None = None
        failure: ContainerError | EngineUnavailable | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(follow)
            try:
                with anyio.move_on_after(timeout_s):
                    await _exit(runtime, name, streamed)
                    exited = True
                if not exited:
                    await runtime.stop_container(name, timeout_s=STOP_GRACE_S)
                info = await runtime.inspect_container(name)
            except (ContainerError, EngineUnavailable) as exc:
                failure = exc  # raised below, not wrapped in the task group's exception group
            finally:
                with anyio.move_on_after(DRAIN_S, shield=True):
                    await streamed.wait()  # the output's last lines, after the exit
                group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        code = None if info is None else info.exit_code
        if not exited:
            return Ending("timed_out", code, f"it ran longer than {timeout_s} s and was stopped")
        if code == 0:
            return Ending("succeeded", 0)
        said = f"; its last line: {last[0]}" if last else ""
        return Ending("failed", code, f"it exited with code {code}{said}")


async def _exit(runtime: ContainerRuntime, name: str, streamed: anyio.Event) -> None:
    """Until the container is no longer running: its output's end says when, at once; the
    engine is asked every few seconds as well (a stream an engine cut short ends early)."""
    while True:
        with anyio.move_on_after(EXIT_POLL_S):
            await streamed.wait()
        info = await runtime.inspect_container(name)
        if info is None or info.state not in _GOING:
            return
        if streamed.is_set():
            await anyio.sleep(EXIT_POLL_S)


async def _removed(runtime: ContainerRuntime, name: str) -> None:
    try:
        await runtime.remove_container(name, force=True)
    except (ContainerError, EngineUnavailable) as exc:
        # the scheduler's sweep at the next start finds it by its labels
        log.warning("could not remove the job container %s: %s", name, exc)
