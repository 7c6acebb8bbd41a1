"""The deployer reacts to the log: a deployment request starts a pipeline, a newer request for
the same app supersedes the one in flight, a cancel stops it, and a superseded release is
drained and retired on a deadline it tracks — never fire-and-forget."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import msgspec

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.logs import LogStore
from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime, EngineUnavailable
from rivetr.adapters.secrets import SecretBox
from rivetr.domain.deployment import DeploymentState, IllegalTransition
from rivetr.domain.events import (
    AppDeleted,
    DeploymentCancelled,
    DeploymentRequested,
    DeploymentRetired,
)
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup, is_legacy
from rivetr.service.reactors.pipeline import DeployPipeline
from rivetr.service.reactors.pruning import prune_images
from rivetr.service.reactors.steps import StepRecorder

log = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 10.0
KEPT_OUTPUT_LINES = 1000  # of a retired container's output, kept in its deployment's log
_APP_DELETED = "its application was deleted"


class Deployer:
    def __init__(
        self,
        store: EventStore,
        pipeline: DeployPipeline,
        *,
        clock: Clock,
        images_kept: int = 5,
        caught_up: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        """`caught_up(position)`: returns once the read model holds the log up to there."""
        self.store = store
        self.caught_up = caught_up
        self.pipeline = pipeline
        self.recorder: StepRecorder = pipeline.recorder
        self.read: ReadModel = pipeline.read
        self.lookup: AppLookup = pipeline.lookup
        self.runtime: Callable[[], ContainerRuntime | None] = pipeline.runtime
        self.logs: LogStore = pipeline.logs
        self.secrets: SecretBox = pipeline.secrets
        self.clock = clock
        self.images_kept = images_kept
        # app id -> (the deployment in flight, its task)
        self._running: dict[str, tuple[str, asyncio.Task[None]]] = {}
        self._background: set[asyncio.Task[None]] = set()
        # app id -> its deployment that went live as a newer one was asked for, still finishing
        self._finishing: dict[str, asyncio.Task[None]] = {}

    async def run(self, after: int) -> None:
        """Follow the log from `after`; deployments requested before it are the reconciler's."""
        try:
            async for recorded in self.store.subscribe(after):
                event = recorded.event
                if isinstance(event, DeploymentRequested):
                    await self._start(event, recorded.resource or event.app_id or event.app)
                elif isinstance(event, DeploymentCancelled):
                    await self._stop(event.deployment_id)
                elif isinstance(event, AppDeleted) and recorded.resource is not None:
                    await self._app_deleted(recorded.resource, recorded.team)
        finally:
            tasks = [task for _, task in self._running.values()] + list(self._background)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _start(self, request: DeploymentRequested, app_id: str) -> None:
        current = self._running.get(app_id)
        if current is not None and not current[1].done():
            older_id, task = current
            if request.trigger == "rebuild":
                # the reconciler asks to build a dead release again; a deployment asked for
                # before it (in the log's order) is under way and replaces that release anyway
                with contextlib.suppress(IllegalTransition):
                    await self.recorder.record(
                        request.deployment_id,
                        DeploymentCancelled(
                            deployment_id=request.deployment_id,
                            reason=f"deployment {older_id} is under way and replaces the release",
                        ),
                    )
                return
            try:
                await self.recorder.record(
                    older_id,
                    DeploymentCancelled(
                        deployment_id=older_id,
                        reason=f"superseded by deployment {request.deployment_id}",
                        superseded_by=request.deployment_id,
                    ),
                )
            except IllegalTransition:
                # it went live (or ended) while the request was on its way: what it has left
                # to do is the release's own (the check right after the switch, which may roll
                # it back; superseding the release before it). Cancelled, it would remove the
                # copies traffic now goes to; the new deployment waits for it instead.
                self._finishing[app_id] = task
                self._track(task)
            else:
                await _cancel(task)
        finishing = self._finishing.get(app_id)
        if finishing is not None and finishing.done():
            del self._finishing[app_id]
            finishing = None
        task = asyncio.create_task(
            self._deploy(request.deployment_id, after=finishing),
            name=f"deploy-{request.deployment_id}",
        )
        self._running[app_id] = (request.deployment_id, task)

    async def _deploy(self, deployment_id: str, after: asyncio.Task[None] | None = None) -> None:
        if after is not None:
            await asyncio.wait([after])
        superseded = await self.pipeline.run(deployment_id)
        if superseded is not None:
            await self.schedule_retire(superseded.deployment_id, superseded.drain_s)
        # beside, not before, the app's next deployment: that one waits for this task, and
        # asking the engine for the app's images costs ~0.1 s where it holds hundreds
        self.spawn(self._prune_after(deployment_id))

    async def _prune_after(self, deployment_id: str) -> None:
        await self.prune(await self.recorder.state(deployment_id))

    async def prune(self, deployment: DeploymentState) -> None:
        """Remove the images of the deployment's app beyond the releases kept for rollback."""
        runtime = self.runtime()
        if runtime is None:
            return
        app = await self.lookup.of_deployment(deployment)
        if not app.app_id:
            return  # an app from before ids whose name another app holds now: nothing to key on
        if self.caught_up is not None:
            # it decides from the read model: one behind the log does not know the release
            # just made live, and would take its image for one no release uses
            await self.caught_up(await self.store.head())
        try:
            await prune_images(self.read, runtime, self.store, app, self.images_kept)
        except EngineUnavailable as exc:
            log.warning("could not prune the images of %s: %s", app.name, exc)

    async def _stop(self, deployment_id: str) -> None:
        for app, (running_id, task) in list(self._running.items()):
            if running_id == deployment_id:
                await _cancel(task)
                del self._running[app]

    async def _app_deleted(self, app_id: str, team: str | None) -> None:
        """A deleted app keeps nothing running and nothing on the engine's disk: its deployment
        in flight is cancelled, its releases (live, or still draining) are stopped and removed,
        and then the images it built."""
        current = self._running.pop(app_id, None)
        if current is not None and not current[1].done():
            deployment_id, task = current
            with contextlib.suppress(IllegalTransition):
                await self.recorder.record(
                    deployment_id,
                    DeploymentCancelled(deployment_id=deployment_id, reason=_APP_DELETED),
                )
            await _cancel(task)
        releases = [
            release.id
            for release in await self.read.deployments.with_status(["live", "superseded"])
            if release.app_id == app_id
        ]
        self.spawn(self._clear_deleted(app_id, team, releases))

    async def _clear_deleted(self, app_id: str, team: str | None, releases: list[str]) -> None:
        await asyncio.gather(*(self._retire_now(release) for release in releases))
        runtime = self.runtime()
        # an app from before ids labelled its images with its name, which a new app may hold
        if runtime is None or is_legacy(app_id):
            return
        # the deleted app's state keeps its id and name; its team is the deletion's
        app = msgspec.structs.replace(await self.lookup.by_id(app_id), team=team or ROOT_TEAM)
        if self.caught_up is not None:
            # the read model must know the releases retired, or it keeps their images
            await self.caught_up(await self.store.head())
        try:
            # none kept for its own rollback; an image promoted to another app stays while that
            # app keeps it
            await prune_images(
                self.read, runtime, self.store, app, keep=0, others_keep=self.images_kept
            )
        except EngineUnavailable as exc:
            log.warning("could not remove the images of the deleted app %s: %s", app.name, exc)

    async def _retire_now(self, deployment_id: str) -> None:
        await self._retire(deployment_id, ("live", "superseded"), reason=_APP_DELETED)

    async def _retire(
        self, deployment_id: str, from_statuses: tuple[str, ...], reason: str | None = None
    ) -> DeploymentState | None:
        """Stop and remove the release's container and record it retired, if it is still in
        one of `from_statuses`; return it as it was (None when it was not)."""
        state = await self.recorder.state(deployment_id)
        if state.status not in from_statuses:
            return None
        removed = False
        runtime = self.runtime()
        if state.service_name:
            removed = await self._remove_service(state.service_name)
        elif runtime is not None and state.container_name:
            removed = await self._stop_and_remove(
                runtime, state.app, deployment_id, state.container_name
            )
        retired = DeploymentRetired(
            deployment_id=deployment_id, container_removed=removed, reason=reason
        )
        with contextlib.suppress(IllegalTransition):
            await self.recorder.record(deployment_id, retired)
        return state

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._track(asyncio.create_task(work))

    def _track(self, task: asyncio.Task[None]) -> None:
        """Keep a task that nothing else holds until it is done, and cancel it at the end."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def schedule_retire(self, deployment_id: str, drain_s: float) -> None:
        """Drain, then stop and remove a superseded release; tracked, and resumed by the
        reconciler after a restart."""
        self.spawn(self.retire(deployment_id, drain_s))

    async def retire(self, deployment_id: str, drain_s: float) -> None:
        await self.clock.sleep(drain_s)
        retired = await self._retire(deployment_id, ("superseded",))
        if retired is not None:
            await self.prune(retired)

    async def _remove_service(self, name: str) -> bool:
        """Remove a release's swarm service: its copies stop on their servers."""
        swarm = self.pipeline.swarm
        if swarm is None:
            return False
        try:
            await swarm().remove_service(name)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not retire service %s: %s", name, exc)
            return False
        return True

    async def _stop_and_remove(
        self, runtime: ContainerRuntime, app: str, deployment_id: str, name: str
    ) -> bool:
        """Stop the container, keep the end of its output in the deployment's log (the
        container is about to go, its log must not), then remove it."""
        try:
            await runtime.stop_container(name, timeout_s=_STOP_TIMEOUT_S)
            output = await runtime.container_logs(name, tail=KEPT_OUTPUT_LINES)
            self.logs.append(app, deployment_id, "app", output)
            await runtime.remove_container(name, force=True)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not retire container %s: %s", name, exc)
            return False
        return True


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel a pipeline and wait (bounded) for its clean-up to finish."""
    task.cancel()
    await asyncio.wait([task], timeout=30)
