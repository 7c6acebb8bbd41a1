"""Reading compose stacks and their releases as an actor may: a stack is read by whoever reads
its project; an id the actor may not read is answered as absent, never as forbidden (it would
say the id exists). A service's logs come from the engine, from the container of the release
that serves (or the newest one that ran it)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from rivetr.adapters.logs import LogStore, stack_folder
from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime, EngineUnavailable
from rivetr.adapters.swarm.base import SwarmEngine
from rivetr.domain.access import Actor
from rivetr.domain.errors import NotFound
from rivetr.domain.stack_releases import IN_FLIGHT
from rivetr.projections.certificates import CertificateView
from rivetr.projections.jobs import JobRunView, JobView
from rivetr.projections.registry import ReadModel
from rivetr.projections.stacks import StackReleaseView, StackServiceView, StackStepView, StackView
from rivetr.projections.webhooks import DeliveryView
from rivetr.service.queries.placed import readable


class StackRelease(msgspec.Struct, frozen=True, kw_only=True):
    """A release with each of its services and its steps, service by service."""

    release: StackReleaseView
    services: list[StackServiceView]
    steps: list[StackStepView]


class ServiceLogs(msgspec.Struct, frozen=True, kw_only=True):
    stack_id: str
    service: str
    container: str
    output: str


class ReleaseLog(msgspec.Struct, frozen=True, kw_only=True):
    """A release's log: each line prefixed with its source (`git`, `build web`, `rivetr`, a
    service's name); none yet while the release waits for the deployer."""

    stack_id: str
    release_id: str
    status: str
    lines: list[str]


class StackReads:
    def __init__(
        self,
        read: ReadModel,
        runtime: Callable[[], ContainerRuntime | None] = lambda: None,
        release_logs: LogStore | None = None,
        swarm: Callable[[], SwarmEngine] | None = None,
    ) -> None:
        """`swarm`: the engine that reads the logs of services on servers (it raises when
        there is none)."""
        self.read = read
        self.runtime = runtime
        self.release_logs = release_logs
        self.swarm = swarm

    async def every(
        self,
        actor: Actor,
        team: str | None = None,
        project: str | None = None,
        environment: str | None = None,
    ) -> list[StackView]:
        return await readable(actor, self.read.stacks.every, team, project, environment)

    async def one(self, actor: Actor, stack_id: str) -> StackView:
        view = await self.read.stacks.one(stack_id)
        if view is None or not actor.may_read(view.team, view.project):
            raise NotFound(f"no stack with id {stack_id}")
        return view

    async def certificates(self, actor: Actor, stack_id: str) -> list[CertificateView]:
        """The certificates serving the stack's domains (and the last failure to get one)."""
        await self.one(actor, stack_id)
        return await self.read.certificates.of_app(stack_id)

    async def jobs(self, actor: Actor, stack_id: str) -> list[tuple[JobView, list[JobRunView]]]:
        """Each scheduled job of the stack's services, with its newest runs."""
        await self.one(actor, stack_id)
        return [
            (job, await self.read.jobs.runs_of(job.job_id, limit=5))
            for job in await self.read.jobs.of_owner(stack_id)
        ]

    async def deliveries(self, actor: Actor, stack_id: str, limit: int = 50) -> list[DeliveryView]:
        """The stack's latest webhook deliveries, newest first (kept by its id, as an app's)."""
        await self.one(actor, stack_id)
        return await self.read.webhooks.deliveries(stack_id, limit)

    async def releases(self, actor: Actor, stack_id: str) -> list[StackReleaseView]:
        await self.one(actor, stack_id)
        return await self.read.stacks.releases_of(stack_id)

    async def release(
        self, actor: Actor, stack_id: str, release_id: str, service: str | None = None
    ) -> StackRelease:
        """A release of the stack with its services and steps (one service's, if named)."""
        await self.one(actor, stack_id)
        release = await self.read.stacks.release(release_id)
        if release is None or release.stack_id != stack_id:
            raise NotFound(f"stack {stack_id} has no release {release_id}")
        services = await self.read.stacks.services_of(release_id)
        if service is not None and service not in {s.service for s in services}:
            raise NotFound(f"release {release_id} has no service {service!r}")
        return StackRelease(
            release=release,
            services=[s for s in services if service in (None, s.service)],
            steps=await self.read.stacks.steps_of(release_id, service),
        )

    async def release_log(
        self, actor: Actor, stack_id: str, release_id: str | None = None, lines: int = 1000
    ) -> ReleaseLog:
        """The last `lines` lines of a release's log (`release_id` None: the newest release's).

        Raises:
            NotFound: no such stack or release for this actor, no release yet, or a finished
                release whose log is no longer kept (only the newest few are).
        """
        stack = await self.one(actor, stack_id)
        release_id = release_id or stack.last_release_id
        if release_id is None:
            raise NotFound(f"stack {stack.name!r} has no release yet")
        found = await self.read.stacks.release(release_id)
        if found is None or found.stack_id != stack_id:
            raise NotFound(f"stack {stack.name!r} has no release {release_id}")
        folder = stack_folder(stack.stack_id)
        files = self.release_logs
        if files is None or not files.path(folder, release_id).is_file():
            if found.status in IN_FLIGHT:
                return ReleaseLog(
                    stack_id=stack_id, release_id=release_id, status=found.status, lines=[]
                )
            raise NotFound(f"the log of release {release_id} is no longer kept")
        kept = files.tail(folder, release_id, lines)
        return ReleaseLog(stack_id=stack_id, release_id=release_id, status=found.status, lines=kept)

    async def logs(self, actor: Actor, stack_id: str, service: str, tail: int = 200) -> ServiceLogs:
        """A service's last `tail` lines, from the container of the live release (or of the
        newest release that started it).

        Raises:
            NotFound: no such stack or service for this actor, or no container for it (yet).
            EngineUnavailable: no container engine is connected.
        """
        stack = await self.one(actor, stack_id)
        run = await self._container(stack, service)
        assert run.container is not None
        try:
            if run.on_servers:  # its copies', wherever they run, through the manager
                output = await self._swarm().service_logs(run.container, tail=tail)
            else:
                output = await self._runtime().container_logs(run.container, tail=tail)
        except ContainerError:
            raise NotFound(f"service {service!r} has no container (any more)") from None
        return ServiceLogs(
            stack_id=stack_id, service=service, container=run.container, output=output
        )

    def _runtime(self) -> ContainerRuntime:
        runtime = self.runtime()
        if runtime is None:
            raise EngineUnavailable("no container engine is connected")
        return runtime

    def _swarm(self) -> SwarmEngine:
        if self.swarm is None:
            raise EngineUnavailable("no swarm engine is connected")
        return self.swarm()

    async def _container(self, stack: StackView, service: str) -> StackServiceView:
        releases = [r.release_id for r in await self.read.stacks.releases_of(stack.stack_id)]
        if stack.live_release_id is not None:
            releases.insert(0, stack.live_release_id)
        for release_id in releases:
            for run in await self.read.stacks.services_of(release_id):
                if run.service == service and run.container is not None:
                    return run
        raise NotFound(f"stack {stack.name!r} has no container for service {service!r} (yet)")
