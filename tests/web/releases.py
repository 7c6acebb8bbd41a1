"""Releases that served traffic, written as events directly: a rollback target for the tests
that need one without a container engine."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentRetired,
    DeploymentSuperseded,
    TrafficSwitched,
)


async def served_releases(services: Any, name: str, ids: tuple[str, str], team: str) -> None:
    """Two releases of the app `name` that served traffic, the second live and the first
    retired. Each history is one append, so the deployer finds it past `requested` and leaves
    it be."""
    app = await services.lookup.by_name(name)
    for n, d in enumerate(ids):
        history: list[Any] = [
            DeploymentRequested(
                deployment_id=d, app=name, app_id=app.app_id, branch="main", image=f"i{n}"
            ),
            ContainerStarted(
                deployment_id=d,
                container_id="c",
                container_name=f"rivetr-{name}-{d}",
                image=f"i{n}",
                host_port=30000 + n,
                duration_ms=1,
            ),
            DeploymentHealthy(deployment_id=d, probes=1, duration_ms=1),
            TrafficSwitched(deployment_id=d, app=name, host_port=30000 + n),
        ]
        if d != ids[-1]:
            history += [
                DeploymentSuperseded(deployment_id=d, by_deployment_id=ids[-1], drain_s=0),
                DeploymentRetired(deployment_id=d, container_removed=True),
            ]
        meta = EventMeta(actor="test", team=team, resource=app.app_id)
        recorded = await services.store.append(f"deployment-{d}", 0, history, meta)
        await services.runner.wait_until(recorded[-1].position)
