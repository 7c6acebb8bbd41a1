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


async def served_stack(
    services: Any, team: str, *, project: str = "default", release_id: str = "raaaaaaaaaaa"
) -> tuple[str, str]:
    """An inline stack of `team` with one release that served (one append, so a deployer
    finds it live and leaves it be). Returns the stack's id and the release's."""
    from rivetr.domain.access import SYSTEM
    from rivetr.domain.stack_commands import CreateStack

    compose = "services:\n  web:\n    image: nginx:1.27\n"
    stack_id, _ = await services.stacks.create(
        SYSTEM, CreateStack(name=f"{project}stack", team=team, project=project, compose=compose)
    )
    history = served_history(stack_id, release_id)
    meta = EventMeta(actor="system:stacks", team=team, resource=stack_id)
    recorded = await services.store.append(f"stack-release-{release_id}", 0, history, meta)
    await services.runner.wait_until(recorded[-1].position)
    return stack_id, release_id


def served_history(stack_id: str, release_id: str) -> list[Any]:
    """A release of one service `web` from request to live, to append in one go (a deployer
    then finds it past `requested` and leaves it be)."""
    from rivetr.domain.stack_events import (
        StackComposeRead,
        StackReleaseRequested,
        StackServiceImageReady,
        StackServiceReady,
        StackServiceStarted,
        StackSourceFetched,
        StackSwitched,
    )

    return [
        StackReleaseRequested(release_id=release_id, stack_id=stack_id),
        StackSourceFetched(release_id=release_id, compose_digest="d"),
        StackComposeRead(release_id=release_id, waves=[["web"]]),
        StackServiceImageReady(release_id=release_id, service="web", image="sha256:1"),
        StackServiceStarted(release_id=release_id, service="web", container="c", mode="beside"),
        StackServiceReady(release_id=release_id, service="web"),
        StackSwitched(release_id=release_id),
    ]
