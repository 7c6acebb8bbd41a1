"""/api/v1 scheduled jobs: an app's (`/apps/{name}/jobs`) and a stack service's
(`/stacks/{stack_id}/services/{service}/jobs`), the same routes for each: list and create, read,
change and delete one, list its runs and run it now; and a run by its id (`/job-runs/{run_id}`)
with its log, whole or followed live. Reads go through the job queries (which authorise them);
changes are commands through the job service; the scheduler does the running."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from rivetr.config import Settings
from rivetr.domain.access import Actor
from rivetr.domain.database_commands import ResourceId
from rivetr.domain.job_commands import ChangeJob, CreateJob, DeleteJob, JobName, RunJob
from rivetr.domain.settings import AppName
from rivetr.domain.stack_commands import ServiceName
from rivetr.projections.jobs import JobRunView, JobView
from rivetr.service.commands.jobs import JobService
from rivetr.service.queries.jobs import JobOwner, JobReads
from rivetr.web.api.bodies import body_of
from rivetr.web.log_stream import first_line, follow
from rivetr.web.params import bounded
from rivetr.web.stopping import stopping_of

OWNER_FIELDS = ("app", "stack_id", "service")
JobInput = body_of(CreateJob, "JobInput", *OWNER_FIELDS)
JobPatch = body_of(ChangeJob, "JobPatch", *OWNER_FIELDS, "job")
RUN_OVER = frozenset({"succeeded", "failed", "timed_out", "skipped", "replaced"})


class JobDetail(msgspec.Struct, frozen=True, kw_only=True):
    job: JobView
    runs: list[JobRunView]  # the newest first


class RunDetail(msgspec.Struct, frozen=True, kw_only=True):
    job: JobView
    run: JobRunView
    log_tail: list[str]


def _location(owner: JobOwner, name: str) -> str:
    if owner.app is not None:
        return f"/api/v1/apps/{owner.app}/jobs/{name}"
    return f"/api/v1/stacks/{owner.stack_id}/services/{owner.service}/jobs/{name}"


class _JobRoutes(Controller):
    """What the routes of an app's jobs and of a stack service's do, given the owner its path
    names (each route declares its own path parameters: the OpenAPI document and the path
    checks read them from the handler)."""

    tags = ["jobs"]

    async def _create(
        self, data: Any, jobs: JobService, owner: JobOwner, actor: Actor
    ) -> Response[JobView]:
        fields = msgspec.structs.asdict(data)
        view = await jobs.create(actor, CreateJob(**msgspec.structs.asdict(owner), **fields))
        headers = {"Location": _location(owner, view.name)}
        return Response(view, status_code=HTTP_201_CREATED, headers=headers)

    async def _detail(
        self, job_reads: JobReads, actor: Actor, owner: JobOwner, job: str
    ) -> JobDetail:
        return JobDetail(
            job=await job_reads.one(actor, owner, job),
            runs=await job_reads.runs(actor, owner, job),
        )

    async def _change(
        self, data: Any, jobs: JobService, owner: JobOwner, job: str, actor: Actor
    ) -> JobView:
        fields = msgspec.structs.asdict(data)
        return await jobs.change(
            actor, ChangeJob(**msgspec.structs.asdict(owner), job=job, **fields)
        )

    async def _delete(self, jobs: JobService, owner: JobOwner, job: str, actor: Actor) -> None:
        await jobs.delete(actor, DeleteJob(**msgspec.structs.asdict(owner), job=job))

    async def _run_now(
        self, jobs: JobService, owner: JobOwner, job: str, actor: Actor
    ) -> Response[JobRunView]:
        run = await jobs.run_now(actor, RunJob(**msgspec.structs.asdict(owner), job=job))
        headers = {"Location": f"/api/v1/job-runs/{run.run_id}"}
        return Response(run, status_code=HTTP_202_ACCEPTED, headers=headers)


Reads = NamedDependency[JobReads]
Jobs = NamedDependency[JobService]
Caller = NamedDependency[Actor]
Job = FromPath[JobName]


class AppJobsController(_JobRoutes):
    path = "/apps/{name:str}/jobs"

    @get("/")
    async def list_app_jobs(
        self, name: FromPath[AppName], job_reads: Reads, actor: Caller
    ) -> list[JobView]:
        """The app's scheduled jobs, by name."""
        return await job_reads.listed(actor, JobOwner(app=name))

    @post("/", status_code=HTTP_201_CREATED)
    async def create_app_job(
        self,
        name: FromPath[AppName],
        data: JSONBody[JobInput],  # type: ignore[valid-type]  # a defstruct type
        jobs: Jobs,
        actor: Caller,
    ) -> Response[JobView]:
        """A command (argv, or one line for `sh -c`) run on a cron schedule in a one-off
        container of the app's live release, with its variables and limits."""
        return await self._create(data, jobs, JobOwner(app=name), actor)

    @get("/{job:str}")
    async def get_app_job(
        self, name: FromPath[AppName], job: Job, job_reads: Reads, actor: Caller
    ) -> JobDetail:
        """The job and its newest runs."""
        return await self._detail(job_reads, actor, JobOwner(app=name), job)

    @patch("/{job:str}")
    async def change_app_job(
        self,
        name: FromPath[AppName],
        job: Job,
        data: JSONBody[JobPatch],  # type: ignore[valid-type]  # a defstruct type
        jobs: Jobs,
        actor: Caller,
    ) -> JobView:
        return await self._change(data, jobs, JobOwner(app=name), job, actor)

    @delete("/{job:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_app_job(
        self, name: FromPath[AppName], job: Job, jobs: Jobs, actor: Caller
    ) -> None:
        await self._delete(jobs, JobOwner(app=name), job, actor)

    @get("/{job:str}/runs")
    async def list_app_job_runs(
        self, name: FromPath[AppName], job: Job, job_reads: Reads, actor: Caller
    ) -> list[JobRunView]:
        """The job's newest runs (at most 50), newest first."""
        return await job_reads.runs(actor, JobOwner(app=name), job)

    @post("/{job:str}/runs", status_code=HTTP_202_ACCEPTED)
    async def run_app_job(
        self, name: FromPath[AppName], job: Job, jobs: Jobs, actor: Caller
    ) -> Response[JobRunView]:
        """Run the job now (its overlap policy still holds); follow the run it answers."""
        return await self._run_now(jobs, JobOwner(app=name), job, actor)


Stack = FromPath[ResourceId]
Service = FromPath[ServiceName]


class StackJobsController(_JobRoutes):
    path = "/stacks/{stack_id:str}/services/{service:str}/jobs"

    @get("/")
    async def list_stack_jobs(
        self, stack_id: Stack, service: Service, job_reads: Reads, actor: Caller
    ) -> list[JobView]:
        """The scheduled jobs of the stack's service, by name."""
        return await job_reads.listed(actor, JobOwner(stack_id=stack_id, service=service))

    @post("/", status_code=HTTP_201_CREATED)
    async def create_stack_job(
        self,
        stack_id: Stack,
        service: Service,
        data: JSONBody[JobInput],  # type: ignore[valid-type]  # a defstruct type
        jobs: Jobs,
        actor: Caller,
    ) -> Response[JobView]:
        """A command run on a cron schedule in a one-off container made as the service's is
        in the stack's live release."""
        owner = JobOwner(stack_id=stack_id, service=service)
        return await self._create(data, jobs, owner, actor)

    @get("/{job:str}")
    async def get_stack_job(
        self, stack_id: Stack, service: Service, job: Job, job_reads: Reads, actor: Caller
    ) -> JobDetail:
        owner = JobOwner(stack_id=stack_id, service=service)
        return await self._detail(job_reads, actor, owner, job)

    @patch("/{job:str}")
    async def change_stack_job(
        self,
        stack_id: Stack,
        service: Service,
        job: Job,
        data: JSONBody[JobPatch],  # type: ignore[valid-type]  # a defstruct type
        jobs: Jobs,
        actor: Caller,
    ) -> JobView:
        owner = JobOwner(stack_id=stack_id, service=service)
        return await self._change(data, jobs, owner, job, actor)

    @delete("/{job:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_stack_job(
        self, stack_id: Stack, service: Service, job: Job, jobs: Jobs, actor: Caller
    ) -> None:
        await self._delete(jobs, JobOwner(stack_id=stack_id, service=service), job, actor)

    @get("/{job:str}/runs")
    async def list_stack_job_runs(
        self, stack_id: Stack, service: Service, job: Job, job_reads: Reads, actor: Caller
    ) -> list[JobRunView]:
        return await job_reads.runs(actor, JobOwner(stack_id=stack_id, service=service), job)

    @post("/{job:str}/runs", status_code=HTTP_202_ACCEPTED)
    async def run_stack_job(
        self, stack_id: Stack, service: Service, job: Job, jobs: Jobs, actor: Caller
    ) -> Response[JobRunView]:
        return await self._run_now(jobs, JobOwner(stack_id=stack_id, service=service), job, actor)


class JobRunsController(Controller):
    path = "/job-runs"
    tags = ["jobs"]

    @get("/{run_id:str}")
    async def get_job_run(
        self,
        run_id: FromPath[ResourceId],
        job_reads: NamedDependency[JobReads],
        actor: NamedDependency[Actor],
    ) -> RunDetail:
        """A run with its job and the end of its log."""
        job, run = await job_reads.run(actor, run_id)
        lines = (await job_reads.log(job, run)).splitlines()
        return RunDetail(job=job, run=run, log_tail=lines[-100:])

    @get("/{run_id:str}/logs", media_type="text/plain")
    async def job_run_log(
        self,
        run_id: FromPath[ResourceId],
        job_reads: NamedDependency[JobReads],
        actor: NamedDependency[Actor],
    ) -> str:
        """Every attempt's output, each line prefixed with its source (`job`, `rivetr`)."""
        return await job_reads.log(*await job_reads.run(actor, run_id))

    @get("/{run_id:str}/logs/stream")
    async def job_run_log_stream(
        self,
        request: Request[Any, Any, Any],
        run_id: FromPath[ResourceId],
        job_reads: NamedDependency[JobReads],
        settings: NamedDependency[Settings],
        actor: NamedDependency[Actor],
        start: FromQuery[Literal["start", "end"]] = "start",
        after: Annotated[int | None, bounded("after this line")] = None,
    ) -> ServerSentEvent:
        """The run's log as server-sent events, one per line (`id` its line number, `data`
        {"line", "source", "text"}), live while it runs; a last `end` event with its outcome.
        `Last-Event-ID` resumes after that line."""
        job, _ = await job_reads.run(actor, run_id)
        skip = first_line(request, start, after)
        skipped = await job_reads.log_lines_skipped(job, run_id, skip)

        async def read_from(offset: int) -> tuple[list[str], int]:
            return await job_reads.log_from(job, run_id, offset)

        async def ended() -> str | None:
            now = await job_reads.status(run_id)
            if now is None:
                return "gone"
            return now if now in RUN_OVER else None

        return follow(skipped, read_from, ended, settings.sse_heartbeat_s, stopping_of(request))
