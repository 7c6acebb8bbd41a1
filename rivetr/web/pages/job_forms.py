"""An app's scheduled jobs on the dashboard, to manage: the jobs with their newest runs, a form
to add one (a shell line run by `sh -c` in a one-off container of the live release), and a
button to pause, resume or remove each. Through the job service, as the API does."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.job_commands import ChangeJob, CreateJob, DeleteJob
from rivetr.service.commands.jobs import JobService
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.jobs import JobOwner, JobReads
from rivetr.service.queries.refusals import Absent
from rivetr.web.pages.forms import Shown, on_error_page, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout


class JobForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    command: str = ""
    schedule: str = ""
    time_zone: str = "UTC"
    overlap: str = "forbid"
    timeout_s: str = "3600"
    retries: str = "0"
    on_missed: str = "skip"


class JobForms(Controller):
    path = "/apps/{name:str}/jobs"
    include_in_schema = False

    @get("/")
    async def jobs_page(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
        job_reads: NamedDependency[JobReads],
    ) -> Template:
        return await _page(layout, app_reads, job_reads, name)

    @post("/")
    async def add_job(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        jobs: NamedDependency[JobService],
        app_reads: NamedDependency[AppReads],
        job_reads: NamedDependency[JobReads],
        data: URLEncodedBody[JobForm],
    ) -> Response[Any]:
        typed = {f: getattr(data, f) for f in JobForm.__struct_fields__ if f != "csrf_token"}

        async def add() -> Response[Any]:
            await jobs.create(layout.actor, _command(name, data))
            return Redirect(f"/apps/{name}/jobs")

        async def refused(exc: Exception) -> Response[Any]:
            shown = Shown(form="add", problems=problems_of(exc), typed=typed, status=status_of(exc))
            return await _page(layout, app_reads, job_reads, name, shown)

        return await submitted(layout, data.csrf_token, add, refused)

    @post("/{job:str}/{action:str}")
    async def act_on_job(
        self,
        name: FromPath[str],
        job: FromPath[str],
        action: FromPath[str],
        layout: NamedDependency[Layout],
        jobs: NamedDependency[JobService],
        data: URLEncodedBody[JobForm],
    ) -> Response[Any]:
        """A job's buttons: `pause`, `resume` or `remove` (`run` is the app page's own)."""

        async def act() -> Response[Any]:
            given = {"app": name, "job": job}
            if action == "remove":
                await jobs.delete(layout.actor, msgspec.convert(given, DeleteJob))
            elif action in ("pause", "resume"):
                enabled = {"enabled": action == "resume"}
                await jobs.change(layout.actor, msgspec.convert(given | enabled, ChangeJob))
            else:
                return layout.error(f"No action {action!r} on a job.", 404)
            return Redirect(f"/apps/{name}/jobs")

        return await submitted(layout, data.csrf_token, act, on_error_page(layout, "Not done: "))


def _command(app: str, data: JobForm) -> CreateJob:
    fields: dict[str, Any] = {
        "app": app,
        "name": data.name.strip(),
        "command": data.command.strip(),
        "schedule": data.schedule.strip(),
        "time_zone": data.time_zone.strip() or "UTC",
        "overlap": data.overlap,
        "on_missed": data.on_missed,
    }
    for number in ("timeout_s", "retries"):
        value = getattr(data, number).strip()
        fields[number] = int(value) if value.isdigit() else value  # msgspec says what is wrong
    return msgspec.convert(fields, CreateJob)


async def _page(
    layout: Layout,
    app_reads: AppReads,
    job_reads: JobReads,
    name: str,
    shown: Shown | None = None,
) -> Template:
    shown = shown or Shown()
    try:
        app = await app_reads.readable(layout.actor, name)
    except Absent:
        return layout.error(f"No application named {name!r}.")
    return layout.page(
        "app_jobs.html",
        shown.status,
        app=app,
        jobs=await job_reads.recent(layout.actor, JobOwner(app=app.name)),
        edits=layout.actor.can(Permission.EDIT_APPS, app.team, app.project),
        shown=shown,
    )


__all__ = ["JobForms"]
