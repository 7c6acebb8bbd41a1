"""Reading scheduled jobs and their runs as an actor may: a job is read by whoever reads its app
(or its stack); what the actor may not read is answered as absent, never as forbidden. A run's
log is its file, read in a worker thread."""

from __future__ import annotations

import anyio
import msgspec

from rivetr.adapters.logs import LogStore, job_folder
from rivetr.domain.access import Actor
from rivetr.projections.jobs import JobRunView, JobView
from rivetr.projections.registry import ReadModel
from rivetr.service.queries.refusals import Absent


class JobOwner(msgspec.Struct, frozen=True, kw_only=True):
    """Whose jobs: an app's by its name, or a stack's service's."""

    app: str | None = None
    stack_id: str | None = None
    service: str | None = None


class JobReads:
    def __init__(self, read: ReadModel, logs: LogStore) -> None:
        self.read = read
        self.logs = logs

    async def owner_id(self, actor: Actor, owner: JobOwner) -> str:
        """The id of the app or stack, once the actor may read it."""
        if owner.app is not None:
            app = await self.read.apps.named(owner.app)
            if app is None or not actor.may_read(app.team, app.project):
                raise Absent(f"no application named {owner.app!r}")
            return app.id
        stack = await self.read.stacks.one(owner.stack_id or "")
        if stack is None or not actor.may_read(stack.team, stack.project):
            raise Absent(f"no stack with id {owner.stack_id}")
        return stack.stack_id

    async def listed(self, actor: Actor, owner: JobOwner) -> list[JobView]:
        return await self.read.jobs.of_owner(await self.owner_id(actor, owner), owner.service)

    async def one(self, actor: Actor, owner: JobOwner, name: str) -> JobView:
        found = await self.read.jobs.named(await self.owner_id(actor, owner), owner.service, name)
        if found is None:
            raise Absent(f"no job named {name!r}")
        return found

    async def runs(self, actor: Actor, owner: JobOwner, name: str) -> list[JobRunView]:
        """The job's newest runs, newest first."""
        return await self.read.jobs.runs_of((await self.one(actor, owner, name)).job_id)

    async def run(self, actor: Actor, run_id: str) -> tuple[JobView, JobRunView]:
        """A run, and its job, for one who may read the job's app or stack."""
        found = await self.read.jobs.run(run_id)
        job = None if found is None else await self.read.jobs.by_id(found.job_id)
        if found is None or job is None or not await self._may_read(actor, job):
            raise Absent(f"no job run {run_id!r}")
        return job, found

    async def recent(self, actor: Actor, owner: JobOwner) -> list[tuple[JobView, list[JobRunView]]]:
        """Each job of the app or stack service with its newest runs, for the dashboard."""
        return [
            (job, await self.read.jobs.runs_of(job.job_id, limit=5))
            for job in await self.listed(actor, owner)
        ]

    async def _may_read(self, actor: Actor, job: JobView) -> bool:
        if job.kind == "stack":
            stack = await self.read.stacks.one(job.owner_id)
            return stack is not None and actor.may_read(stack.team, stack.project)
        app = await self.read.apps.by_id(job.owner_id)
        return app is not None and actor.may_read(app.team, app.project)

    async def status(self, run_id: str) -> str | None:
        """Where a run the actor was shown stands now."""
        found = await self.read.jobs.run(run_id)
        return None if found is None else found.status

    # The log of a run `run` gave: blocking file reads, in a worker thread.

    async def log(self, job: JobView, run: JobRunView) -> str:
        text = await anyio.to_thread.run_sync(self.logs.read, job_folder(job.job_id), run.run_id)
        return text or ""

    async def log_lines_skipped(
        self, job: JobView, run_id: str, count: int | None
    ) -> tuple[int, int]:
        return await anyio.to_thread.run_sync(
            self.logs.skip_lines, job_folder(job.job_id), run_id, count
        )

    async def log_from(self, job: JobView, run_id: str, offset: int) -> tuple[list[str], int]:
        return await anyio.to_thread.run_sync(
            self.logs.read_from, job_folder(job.job_id), run_id, offset
        )
