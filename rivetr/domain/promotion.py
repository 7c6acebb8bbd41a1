"""Promoting a release: deploying to one app (production's) the very image that is live in
another (staging's), without fetching or building, with the receiving app's own settings and
variables. The deployment it requests is an image deployment, as a rollback's is, that also
names the release it was promoted from."""

from __future__ import annotations

import msgspec

from rivetr.domain import deployment
from rivetr.domain.application import AppState
from rivetr.domain.commands import RequestDeployment
from rivetr.domain.deployment import DeploymentState
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import DeploymentRequested, Event


def decide(
    target: AppState,
    source: AppState,
    release: DeploymentState,
    state: DeploymentState,
    command: RequestDeployment,
) -> list[Event]:
    """The deployment of `release`'s image (a release of `source`) to `target`.

    Args:
        target: the app deployed to.
        source: the app whose live release is promoted.
        release: that release, as its own stream says it is now.
        state: the new deployment's (empty) stream.
        command: the request, `promoted_from` naming `release`.

    Raises:
        NotFound: an app, or the release, does not exist.
        InvalidCommand: the release is not live in `source` (it was never, or no longer is, the
            one serving it), it has no image, the two apps are one, or they are in different
            teams.
    """
    if not source.exists:
        raise NotFound(f"no application named {source.name or source.app_id!r}")
    if not target.exists:
        raise NotFound(f"no application named {command.app!r}")
    if source.app_id == target.app_id:
        raise InvalidCommand("a release is promoted from another application", field="from_app")
    if source.team != target.team:
        raise InvalidCommand(
            f"{source.name!r} and {target.name!r} are in different teams: a release is promoted"
            " within its team only",
            field="from_app",
        )
    if release.status == "new" or release.app_id != source.app_id:
        raise NotFound(
            f"no deployment {release.deployment_id!r} of application {source.name!r}",
            field="deployment_id",
        )
    if release.status != "live" or release.image is None:
        raise InvalidCommand(
            f"deployment {release.deployment_id} of {source.name!r} is {release.status}, not"
            " live: only the release serving an environment is promoted",
            field="deployment_id",
        )
    request = RequestDeployment(
        deployment_id=command.deployment_id,
        app=command.app,
        commit=release.commit_sha or release.commit,  # a redeployed image knows it by request
        trigger=command.trigger,
        image=release.image,
        promoted_from=release.deployment_id,
    )
    return [
        msgspec.structs.replace(
            event,
            promoted_from=release.deployment_id,
            promoted_from_app_id=source.app_id,
            promoted_from_app=source.name,
        )
        if isinstance(event, DeploymentRequested)
        else event
        for event in deployment.decide_request(target, state, request)
    ]


def promoted_line(app: object, deployment_id: object, image: object) -> str:
    """What a promoted deployment says of itself on its timeline."""
    return f"promoted from {app} release {deployment_id} (image {image})"
