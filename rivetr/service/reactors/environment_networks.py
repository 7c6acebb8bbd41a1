"""An environment deleted, alone or with its project, leaves no network of Rivetr's behind: its
bridge (where its apps, databases, stacks and jobs met) and, where its apps ran on servers, its
overlay. Both are empty by then: an environment is deleted only once it holds nothing. A network
the engine will not remove (something made outside Rivetr is still on it) is left, with a
warning that names it; a network already gone is fine."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent
from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime, EngineUnavailable
from rivetr.domain import projects
from rivetr.domain.events import EnvironmentDeleted, ProjectDeleted
from rivetr.service.reactors.database_containers import network_name
from rivetr.service.reactors.overlay import overlay_name

log = logging.getLogger(__name__)


class EnvironmentNetworks:
    def __init__(self, store: EventStore, runtime: Callable[[], ContainerRuntime | None]) -> None:
        self.store = store
        self.runtime = runtime

    async def run(self, after: int) -> None:
        """Follow the log from `after`: each deleted environment's networks go."""
        async for recorded in self.store.subscribe(after):
            match recorded.event:
                case EnvironmentDeleted(team=team, project=project, environment=environment):
                    await self.remove(team, project, [environment])
                case ProjectDeleted(team=team, project=project):
                    held = await self._environments_before(recorded, team, project)
                    await self.remove(team, project, held)

    async def _environments_before(
        self, deleted: RecordedEvent, team: str, project: str
    ) -> list[str]:
        """The environments the project held when it was deleted (its fold just before)."""
        key = projects.key(team, project)
        history = await self.store.read_stream(projects.stream_id(key))
        before = [r.event for r in history if r.position < deleted.position]
        return list(projects.fold(key, before).environments)

    async def remove(self, team: str, project: str, environments: list[str]) -> list[str]:
        """Remove the bridge and the overlay of each environment; returns the names of those
        the engine did not refuse (gone before included)."""
        runtime = self.runtime()
        if runtime is None:
            log.warning("no engine answers: the networks of %s/%s are left", team, project)
            return []
        removed = []
        for environment in environments:
            bridge = network_name(team, project, environment)
            for network in (bridge, overlay_name(bridge)):
                try:
                    await runtime.remove_network(network)
                except (ContainerError, EngineUnavailable) as exc:
                    log.warning("the network %s of a deleted environment is left: %s", network, exc)
                    continue
                removed.append(network)
        return removed
