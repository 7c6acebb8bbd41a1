"""The stack copy watch: keeps the routes of each live stack's services on servers on the
copies that run.

At each of the swarm keeper's looks (beside the apps' copy watch), for each routed service on
servers of a live stack release, it asks the engine which copies of its swarm service run.
A copy that stopped running (its server went down, its health check failed and the engine
replaced it) is taken out; one the engine started since is put in. Each change is the
service's `stack_release.service_balanced` again, saying what changed, and the route keeper
rebuilds the proxy's route from it. Between looks the proxy takes a copy whose connections
fail out on its own (`adapters/proxy/balance.py`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from rivetr.adapters.swarm.base import SwarmEngine
from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.replica_events import Member
from rivetr.domain.stack_events import StackServiceBalanced
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner
from rivetr.projections.stacks import StackServiceView
from rivetr.service.reactors.copy_watch import Quiet, gone
from rivetr.service.reactors.stack_recorder import StackRecorder
from rivetr.service.reactors.stack_servers import members

log = logging.getLogger(__name__)


class StackCopyWatch:
    def __init__(
        self,
        read: ReadModel,
        recorder: StackRecorder,
        runner: ProjectionRunner,
        *,
        swarm: Callable[[], SwarmEngine],
    ) -> None:
        self.read = read
        self.recorder = recorder
        self.runner = runner
        self.swarm = swarm
        self.quiet = Quiet()

    async def look(self) -> list[StackServiceBalanced]:
        """Look at every routed service on servers of every live stack release once; the
        changes recorded."""
        changed = []
        for stack in await self.read.stacks.every():
            release_id = stack.live_release_id
            if release_id is None:
                continue
            for view in await self.read.stacks.services_of(release_id):
                if not view.on_servers or not view.members or view.container is None:
                    continue
                change = await self.quiet.attempt(view.container, self.check(view))
                if change is not None:
                    changed.append(change)
        return changed

    async def check(self, view: StackServiceView) -> StackServiceBalanced | None:
        assert view.container is not None
        engine = self.swarm()
        tasks = await engine.tasks(view.container)
        routed = sorted(view.members)
        running = [t for t in tasks if t.running and all(p in t.published_ports for p in routed)]
        before = {m.task_id: m for found in view.members.values() for m in found}
        still = {t.task_id for t in running}
        if still == set(before):
            return None
        nodes = {node.node_id: node for node in await engine.nodes()}
        now = members(running, routed, nodes)
        hostnames = {node_id: node.hostname for node_id, node in nodes.items()}
        said = [
            f"a copy on {member.node} left: {gone(task_id, tasks, hostnames)}"
            for task_id, member in before.items()
            if task_id not in still
        ]
        said += [
            f"a copy on {member.node} joined at {member.address}:{member.port}"
            for member in _first_port(now)
            if member.task_id not in before
        ]
        change = StackServiceBalanced(
            release_id=view.release_id, service=view.service, members=now, changed="; ".join(said)
        )
        with contextlib.suppress(IllegalTransition):  # superseded meanwhile: it drains
            recorded = await self.recorder.record(view.release_id, change)
            log.warning("%s: %s", view.container, change.changed)
            # the next look starts from what this one recorded
            await self.runner.wait_until(recorded[-1].position)
            return change
        return None


def _first_port(found: dict[int, list[Member]]) -> list[Member]:
    """Each copy once: as it answers the lowest routed port."""
    return found[min(found)] if found else []
