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
from rivetr.domain.application import AppState
from rivetr.domain.deployment import IN_FLIGHT, SERVED
from rivetr.domain.events import ImagePruned
from rivetr.projections.deployments import DeploymentView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import is_legacy

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


def app_label(app: AppState) -> str:
    """What a release's container and image carry as `rivetr.app`: the app's id, or, for an
    app created before ids, its name (as its older images were labelled)."""
    return app.name if is_legacy(app.app_id) else app.app_id


async def prune_images(
    read: ReadModel,
    runtime: ContainerRuntime,
    store: EventStore,
    app: AppState,
    keep: int,
    others_keep: int | None = None,
) -> list[str]:
    """Remove `app`'s images that `images_to_keep` does not name; return the tags removed.
    An image promoted to another app stays while that app's `others_keep` newest releases
    (`keep` when None) or a deployment in use still name it."""
    deployments = await read.deployments.of_app(app.app_id, limit=1_000_000)
    wanted = images_to_keep(deployments, keep)
    images = {d.image for d in deployments if d.image is not None}
    # an image promoted to another app is that app's release too: kept as long as it keeps it
    for other in await read.deployments.apps_using(images - wanted, app.app_id):
        others = await read.deployments.of_app(other, limit=1_000_000)
        wanted |= images_to_keep(others, keep if others_keep is None else others_keep)
    # an in-flight build's image exists a moment before its image_built event names it
    building = {d.id for d in deployments if d.status in IN_FLIGHT}
    removed = []
    labels = {MANAGED_LABEL: "true", APP_LABEL: app_label(app)}
    for image in await runtime.list_images(labels):
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
                [
                    ImagePruned(
                        app=app.name, image=tag, deployment_id=image.labels.get(DEPLOYMENT_LABEL)
                    )
                ],
                EventMeta(
                    actor="system:pruner",
                    correlation_id=image.labels.get(DEPLOYMENT_LABEL),
                    team=app.team,
                    source="system",
                    resource=app.app_id,
                ),
            )
    return removed
