"""The copy watch: keeps each live release on servers balanced over the copies that answer.

At each of the swarm keeper's looks (every `swarm_check_interval_s`, while there is a swarm),
for each app whose live release runs on servers, it asks the engine which copies of its
service run, and probes each once where it runs with the app's health check. A copy that fails
`FAILS_TO_LEAVE` probes in a row, or stops running (its server went down, the engine moved
it), is taken out; one the engine started since (a rescheduled task) or that answers again is
put in. Each change is one `deployment.copies_changed` on the release, and the route keeper
rebuilds the proxy's route from it. Between looks the proxy takes a copy whose connections fail
out on its own (`adapters/proxy/balance.py`): the watch is what records it and brings a
replacement in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rivetr.adapters.health.base import HealthProber
from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable
from rivetr.adapters.swarm.base import SwarmEngine, TaskInfo
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.replica_events import CopiesChanged, LeftCopy, Member
from rivetr.projections.deployments import ReleaseView
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.reactors.steps import StepRecorder

log = logging.getLogger(__name__)

T = TypeVar("T")
FAILS_TO_LEAVE = 2  # one lost probe is noise; two in a row, at the check's interval, is not


class Quiet:
    """An engine that cannot list the copies, said once per problem rather than every look."""

    def __init__(self) -> None:
        self._problem: str | None = None

    async def attempt(self, what: str, check: Awaitable[T]) -> T | None:
        """`check`'s answer, or None when the engine could not be asked (said in the log)."""
        try:
            answer = await check
        except (ContainerError, EngineUnavailable) as exc:
            if str(exc) != self._problem:
                log.warning("the copies of %s cannot be listed: %s", what, exc)
            self._problem = str(exc)
            return None
        self._problem = None
        return answer


class CopyWatch:
    def __init__(
        self,
        read: ReadModel,
        recorder: StepRecorder,
        lookup: AppLookup,
        runner: ProjectionRunner,
        *,
        swarm: Callable[[], SwarmEngine],
        prober: HealthProber,
    ) -> None:
        self.read = read
        self.recorder = recorder
        self.lookup = lookup
        self.runner = runner
        self.swarm = swarm
        self.prober = prober
        self._failed: dict[str, int] = {}  # task id -> failed probes in a row
        self.quiet = Quiet()

    async def look(self) -> list[CopiesChanged]:
        """Look at every live release on servers once; the changes recorded."""
        changed = []
        for release in await self.read.deployments.releases():
            if release.service_name is None:
                continue
            change = await self.quiet.attempt(release.app, self.check(release))
            if change is not None:
                changed.append(change)
        return changed

    async def check(self, release: ReleaseView) -> CopiesChanged | None:
        assert release.service_name is not None
        app = await self.lookup.by_id(release.app_id)
        if not app.exists:
            return None
        engine = self.swarm()
        tasks = await engine.tasks(release.service_name)
        hostnames = {node.node_id: node.hostname for node in await engine.nodes()}
        running = [t for t in tasks if t.running and t.published_port is not None]
        answers = await asyncio.gather(
            *(self.prober.probe(t.published_port or 0, app.health, host=t.address) for t in running)
        )
        members = {m.task_id: m for m in release.members}
        kept: list[Member] = []
        joined: list[Member] = []
        left: list[LeftCopy] = []
        for task, (ok, _, error) in zip(running, answers, strict=True):
            member = _member(task, hostnames)
            failed = 0 if ok else self._failed.get(task.task_id, 0) + 1
            self._failed[task.task_id] = failed
            if task.task_id in members:
                if failed >= FAILS_TO_LEAVE:
                    left.append(LeftCopy(member=member, reason=f"failed its check: {error}"))
                else:
                    kept.append(member)
            elif ok:
                joined.append(member)
        still = {t.task_id for t in running}
        for task_id, member in members.items():
            if task_id not in still:
                left.append(LeftCopy(member=member, reason=gone(task_id, tasks, hostnames)))
        for task_id in list(self._failed):
            if task_id not in still:
                del self._failed[task_id]
        if not joined and not left:
            return None
        change = CopiesChanged(
            deployment_id=release.deployment_id,
            app=release.app,
            members=kept + joined,
            joined=joined,
            left=left,
        )
        with contextlib.suppress(IllegalTransition):  # superseded meanwhile: it drains
            recorded = await self.recorder.record(release.deployment_id, change)
            for copy in left:  # said only of the live release: a drained one's copies go
                log.warning("%s: a copy on %s left: %s", release.app, copy.member.node, copy.reason)
            # the next look starts from what this one recorded
            await self.runner.wait_until(recorded[-1].position)
            return change
        return None


def _member(task: TaskInfo, hostnames: dict[str, str]) -> Member:
    assert task.published_port is not None
    return Member(
        task_id=task.task_id,
        node=hostnames.get(task.node_id) or task.node_id[:12],
        address=task.address,
        port=task.published_port,
    )


def gone(task_id: str, tasks: list[TaskInfo], hostnames: dict[str, str]) -> str:
    """Why a copy no longer runs, in the engine's words where it has some."""
    task = next((t for t in tasks if t.task_id == task_id), None)
    if task is None:
        return "the engine no longer lists it"
    where = hostnames.get(task.node_id) or task.node_id[:12]
    said = f": {task.message}" if task.message else ""
    return f"{task.state} on {where}{said}"
