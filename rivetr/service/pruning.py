"""Image pruning: each app keeps the images of its newest releases, for rollback, and no more.

Only images Rivetr built and labelled for the app are looked at, and an image a live, draining
or in-flight deployment uses is never removed. Each removal is an event.
"""

from __future__ import annotations

import logging

from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.runtime.base import (
    APP_LABEL,
    DEPLOYMENT_LABEL,
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    EngineUnavailable,
)
from rivetr.domain.deployment import IN_FLIGHT, SERVED
from rivetr.domain.events import ImagePruned
from rivetr.projections.views import DeploymentView, ReadModel

log = logging.getLogger(__name__)

_IN_USE = frozenset({"live", "superseded", "rolling_back", *IN_FLIGHT})


def images_to_keep(deployments: list[DeploymentView], keep: int) -> set[str]:
    """The images of the `keep` newest releases that served traffic, and of every deployment
    still using its image. `deployments` are the app's, newest first."""
    kept: set[str] = set()
    served: list[str] = []
    for deployment in deployments:
        if deployment.image is None:
            continue
        if deployment.status in _IN_USE:
            kept.add(deployment.image)
        if deployment.status in SERVED and len(served) < keep and deployment.image not in served:
            served.append(deployment.image)
    return kept | set(served)


async def prune_images(
    read: ReadModel, runtime: ContainerRuntime, store: EventStore, app: str, keep: int
) -> list[str]:
    """Remove `app`'s images that `images_to_keep` does not name; return the tags removed."""
    deployments = await read.list_deployments(app, limit=1_000_000)
    wanted = images_to_keep(deployments, keep)
    # an in-flight build's image exists a moment before its image_built event names it
    building = {d.id for d in deployments if d.status in IN_FLIGHT}
    removed = []
    for image in await runtime.list_images({MANAGED_LABEL: "true", APP_LABEL: app}):
        # a deployment names its image by id (builds) or by tag (external builders)
        if not image.tags or image.id in wanted or any(tag in wanted for tag in image.tags):
            continue
        if image.labels.get(DEPLOYMENT_LABEL) in building:
            continue
        for tag in image.tags:
            try:
                await runtime.remove_image(tag)
            except (ContainerError, EngineUnavailable) as exc:
                log.warning("could not prune image %s: %s", tag, exc)
                break
            removed.append(tag)
            await store.append(
                "engine",
                None,
                [ImagePruned(app=app, image=tag, deployment_id=image.labels.get(DEPLOYMENT_LABEL))],
                EventMeta(
                    actor="system:pruner",
                    correlation_id=image.labels.get(DEPLOYMENT_LABEL),
                    source="system",
                ),
            )
    return removed
