"""The dashboard's scheduled jobs: a run's page (its outcome and its log, following live) and
the Run now button of the Jobs section on an app's page, which goes through the same service
(and so the same authorisation) as the API."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.job_commands import RunJob
from rivetr.service.commands.jobs import JobService
from rivetr.service.queries.jobs import JobReads
from rivetr.service.queries.refusals import Absent
from rivetr.web.ansi import to_html
from rivetr.web.pages.forms import on_error_page, submitted
from rivetr.web.pages.guard import Layout

LOG_LINES_SHOWN = 500


class RunForm(msgspec.Struct):
    csrf_token: str = ""


class JobPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/job-runs/{run_id:str}")
    async def job_run_page(
        self,
        run_id: FromPath[str],
        layout: NamedDependency[Layout],
        job_reads: NamedDependency[JobReads],
    ) -> Template:
        try:
            job, run = await job_reads.run(layout.actor, run_id)
        except Absent:
            return layout.error(f"No job run {run_id!r}.")
        text = await job_reads.log(job, run)
        lines = text.splitlines()
        if job.kind == "stack":
            stack = await job_reads.read.stacks.one(job.owner_id)
            owner_name = stack.name if stack else job.owner_id
            owner_url = f"/stacks/{job.owner_id}"
        else:
            app = await job_reads.read.apps.by_id(job.owner_id)
            owner_name = app.name if app else job.owner_id
            owner_url = f"/apps/{owner_name}#jobs"
        return layout.page(
            "job_run.html",
            job=job,
            run=run,
            log=[to_html(line) for line in lines[-LOG_LINES_SHOWN:]],
            log_lines=len(lines),
            owner_name=owner_name,
            owner_url=owner_url,
        )

    @post("/apps/{name:str}/jobs/{job:str}/run")
    async def run_app_job(
        self,
        name: FromPath[str],
        job: FromPath[str],
        layout: NamedDependency[Layout],
        jobs: NamedDependency[JobService],
        data: URLEncodedBody[RunForm],
    ) -> Response[Any]:
        """The Jobs section's Run now button: the page of the run it asked for, or why not."""
        return await _run_now(layout, jobs, data, {"app": name, "job": job})


class StackJobPages(Controller):
    path = "/stacks/{stack_id:str}/jobs"
    include_in_schema = False

    @post("/{service:str}/{job:str}/run")
    async def run_stack_job(
        self,
        stack_id: FromPath[str],
        service: FromPath[str],
        job: FromPath[str],
        layout: NamedDependency[Layout],
        jobs: NamedDependency[JobService],
        data: URLEncodedBody[RunForm],
    ) -> Response[Any]:
        """The stack page's Run now button: the page of the run it asked for, or why not."""
        given = {"stack_id": stack_id, "service": service, "job": job}
        return await _run_now(layout, jobs, data, given)


async def _run_now(
    layout: Layout, jobs: JobService, data: RunForm, given: dict[str, str]
) -> Response[Any]:
    async def run() -> Response[Any]:
        asked = msgspec.convert(given, RunJob)
        return Redirect(f"/job-runs/{(await jobs.run_now(layout.actor, asked)).run_id}")

    return await submitted(layout, data.csrf_token, run, on_error_page(layout, "Not run: "))
