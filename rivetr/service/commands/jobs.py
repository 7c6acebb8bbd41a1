"""Job commands as the API and the CLI call them: the app (by its name now) or the stack and
service a job belongs to found, the job decided in its owner's `jobs-<id>` stream (a new one
under an id minted here), and "run now" appended as a request to a new run's stream, which the
scheduler takes up."""

from __future__ import annotations

from typing import Any

from rivetr.domain import job_runs, jobs
from rivetr.domain.access import Actor, authorize_command
from rivetr.domain.aggregates import JOB_RUNS, JOBS
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.job_commands import ChangeJob, CreateJob, DeleteJob, JobCommand, RunJob
from rivetr.domain.job_events import JobRunRequested, OwnerKind
from rivetr.projections.jobs import JobRunView, JobView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.apps import new_app_id
from rivetr.service.commands.handler import CommandHandler, Part


class JobService:
    def __init__(self, handler: CommandHandler, read: ReadModel, lookup: AppLookup) -> None:
        self.handler = handler
        self.read = read
        self.lookup = lookup

    async def owner(self, command: JobCommand) -> tuple[str, str]:
        """The id and name of the app or stack the command's job belongs to.

        Raises:
            NotFound: no such app or stack, or (for a stack) no such service in its live
                release (field `service`).
        """
        if command.app is not None:
            app = await self.lookup.by_name(command.app)
            if not app.exists:
                raise NotFound(f"no application named {command.app!r}")
            return app.app_id, app.name
        assert command.stack_id is not None  # a job command names an app or a stack
        stack = await self.read.stacks.one(command.stack_id)
        if stack is None:
            raise NotFound(f"no stack with id {command.stack_id}")
        return stack.stack_id, stack.name

    async def _service_exists(self, stack_id: str, service: str) -> None:
        stack = await self.read.stacks.one(stack_id)
        live = None if stack is None else stack.live_release_id
        names = (
            [] if live is None else [s.service for s in await self.read.stacks.services_of(live)]
        )
        if service not in names:
            held = (
                f"its live release runs {', '.join(sorted(names))}" if names else "deploy it first"
            )
            raise InvalidCommand(
                f"the stack has no service {service!r} to run a job in ({held})", field="service"
            )

    async def create(self, actor: Actor, command: CreateJob) -> JobView:
        owner_id, _ = await self.owner(command)
        if command.service is not None:
            # authorised first: the refusal names the stack's services
            authorize_command(actor, command, await self.handler.resolve(command))
            await self._service_exists(owner_id, command.service)
        job_id = new_app_id()
        kind: OwnerKind = "app" if command.app is not None else "stack"

        def decide(state: jobs.JobsState, c: CreateJob) -> list[Any]:
            return jobs.decide_create(state, c, job_id, kind)

        await self.handler.execute(actor, command, JOBS, owner_id, decide=decide, resource=owner_id)
        return await self._view(owner_id, command.service, command.name)

    async def change(self, actor: Actor, command: ChangeJob) -> JobView:
        owner_id, _ = await self.owner(command)
        await self.handler.execute(actor, command, JOBS, owner_id, resource=owner_id)
        return await self._view(owner_id, command.service, command.job)

    async def delete(self, actor: Actor, command: DeleteJob) -> None:
        owner_id, _ = await self.owner(command)
        await self.handler.execute(actor, command, JOBS, owner_id, resource=owner_id)

    async def run_now(self, actor: Actor, command: RunJob) -> JobRunView:
        """Ask for a run of the job now; the scheduler takes it up as it does a scheduled one."""
        owner_id, name = await self.owner(command)
        run_id = new_app_id()

        def decide(states: list[Any], c: RunJob) -> list[Part]:
            defined, run = states
            job = jobs.require(defined, c.service, c.job)
            request = JobRunRequested(
                run_id=run_id,
                job_id=job.job_id,
                job=job.name,
                owner_id=owner_id,
                owner_name=name,
                kind="app" if c.app is not None else "stack",
                service=c.service,
                trigger="manual",
            )
            job_runs.check(run, request)
            return [Part(job_runs.stream_id(run_id), [request])]

        await self.handler.execute_together(
            actor,
            command,
            reads=[JOBS.at(owner_id), JOB_RUNS.at(run_id)],
            decide=decide,
            correlation_id=run_id,
            resource=owner_id,
        )
        found = await self.read.jobs.run(run_id)
        assert found is not None  # the handler waited for the read model
        return found

    async def _view(self, owner_id: str, service: str | None, name: str) -> JobView:
        found = await self.read.jobs.named(owner_id, service, name)
        if found is None:
            where = f" of service {service!r}" if service is not None else ""
            raise NotFound(f"no job named {name!r}{where}", field="job")
        return found
