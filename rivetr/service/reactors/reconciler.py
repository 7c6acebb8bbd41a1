"""Start-up reconciliation: make the engine and the log agree again after a crash.

A deployment caught mid-way is failed (its container removed; the previous release never
stopped serving), a release left live beside a newer one is superseded, superseded releases are
retired, a live release whose container died is started again from its image (or, when the
image is not on the host either, as after a restore onto a new machine, built again from its
commit as a new deployment), a live release on servers whose swarm service is gone is deployed
again, and managed containers (and swarm services) of this instance's deployments that are no
longer live or draining are removed (another instance's, on the same engine, are left alone).
Every action is an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.health.base import HealthProber
from rivetr.adapters.runtime.base import (
    DEPLOYMENT_LABEL,
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    EngineUnavailable,
)
from rivetr.adapters.secrets import SecretBox, SecretError
from rivetr.adapters.swarm.base import SwarmEngine
from rivetr.domain import swarm_events
from rivetr.domain.deployment import IN_FLIGHT, IllegalTransition
from rivetr.domain.errors import DomainError
from rivetr.domain.events import (
    DeploymentFailed,
    DeploymentSuperseded,
    Event,
    OrphanContainerRemoved,
    ReleaseRestarted,
    ReleaseRestartFailed,
    RolledBack,
    SwarmOrphanRemoved,
)
from rivetr.domain.references import UnresolvedReference
from rivetr.projections.deployments import ReleaseView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.deployments import new_deployment_id
from rivetr.service.commands.secrets import open_app
from rivetr.service.commands.variables import SharedScopes
from rivetr.service.reactors.deployer import Deployer
from rivetr.service.reactors.pipeline import release_spec
from rivetr.service.reactors.steps import StepRecorder
from rivetr.service.reactors.variables_step import prepare

log = logging.getLogger(__name__)

# engine states (Docker's and Podman's words) of a container that is not dead: a restarting
# one is the engine's own restart policy at work
_ALIVE = frozenset({"running", "restarting", "paused"})
_KEPT = frozenset({"live", "superseded", *IN_FLIGHT})  # the statuses whose container stays
# asks for a deployment of an app (by name), built from a commit, under the id given
Rebuild = Callable[[str, str, str], Awaitable[object]]
# asks for a deployment of an app (by name) of an image built before (and its commit, when
# one is recorded), under the id given
Redeploy = Callable[[str, str, str | None, str], Awaitable[object]]


async def fail_interrupted(read: ReadModel, recorder: StepRecorder) -> list[str]:
    """Fail every deployment the last run left in flight; needs no engine. Returns their ids."""
    failed = []
    for stuck in await read.deployments.with_status(IN_FLIGHT):
        with contextlib.suppress(IllegalTransition):
            await recorder.record(
                stuck.id,
                DeploymentFailed(
                    deployment_id=stuck.id,
                    step=stuck.status,
                    reason=f"interrupted: Rivetr stopped while this deployment was {stuck.status};"
                    " the previous release kept serving",
                ),
            )
            failed.append(stuck.id)
    for stuck in await read.deployments.with_status(["rolling_back"]):
        live = await read.deployments.release(stuck.app_id)
        with contextlib.suppress(IllegalTransition):
            await recorder.record(
                stuck.id,
                RolledBack(
                    deployment_id=stuck.id,
                    app=stuck.app,
                    to_deployment_id=None
                    if live is None or live.deployment_id == stuck.id
                    else live.deployment_id,
                    host_port=None,
                ),
            )
    return failed


async def reconcile_engine(
    read: ReadModel,
    recorder: StepRecorder,
    runtime: ContainerRuntime,
    deployer: Deployer,
    rebuild: Rebuild | None = None,
) -> list[str]:
    """Supersede stray live releases, retire superseded ones, start dead ones again (`rebuild`
    those whose image is gone), remove orphan containers. Returns the names of the containers
    removed as orphans."""
    draining = [d.id for d in await read.deployments.with_status(["superseded"])]
    for live in await read.deployments.with_status(["live"]):
        release = await read.deployments.release(live.app_id)
        if release is not None and release.deployment_id != live.id:
            with contextlib.suppress(IllegalTransition):
                await recorder.record(
                    live.id,
                    DeploymentSuperseded(
                        deployment_id=live.id, by_deployment_id=release.deployment_id, drain_s=0
                    ),
                )
                draining.append(live.id)  # the read model may not show it superseded yet
    for deployment_id in draining:
        await deployer.schedule_retire(deployment_id, 0)
    await restart_dead_releases(
        read, recorder, runtime, deployer.secrets, deployer.pipeline.prober, rebuild
    )

    removed = []
    for container in await runtime.list_containers({MANAGED_LABEL: "true"}):
        owner = container.labels.get(DEPLOYMENT_LABEL)
        if not await _orphan(read, owner):
            continue
        try:
            await runtime.remove_container(container.name, force=True)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not remove orphan container %s: %s", container.name, exc)
            continue
        removed.append(container.name)
        await recorder.store.append(
            "engine",
            None,
            [OrphanContainerRemoved(container_name=container.name, deployment_id=owner)],
            EventMeta(actor="system:reconciler", correlation_id=owner, source="system"),
        )
    return removed


async def remove_orphan_services(
    read: ReadModel, recorder: StepRecorder, swarm: SwarmEngine
) -> list[str]:
    """Remove the swarm services of this instance's releases that are over (a deployment
    interrupted by a restart, failed meanwhile): the swarm would keep their copies running
    otherwise. Returns their names."""
    removed = []
    for name in await swarm.services({MANAGED_LABEL: "true"}):
        labels = await swarm.service_labels(name) or {}
        owner = labels.get(DEPLOYMENT_LABEL)
        if owner is None or not await _orphan(read, owner):
            continue
        try:
            await swarm.remove_service(name)
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not remove orphan service %s: %s", name, exc)
            continue
        removed.append(name)
        await recorder.store.append(
            swarm_events.STREAM,
            None,
            [SwarmOrphanRemoved(service_name=name, deployment_id=owner)],
            EventMeta(actor="system:reconciler", correlation_id=owner, source="system"),
        )
    return removed


async def revive_lost_services(
    read: ReadModel,
    recorder: StepRecorder,
    swarm: SwarmEngine,
    runtime: ContainerRuntime,
    redeploy: Redeploy,
    rebuild: Rebuild,
) -> list[str]:
    """Deploy again each live release on servers whose swarm service is gone (removed by hand,
    a swarm made anew): the swarm would otherwise run none of its copies, and nothing else
    brings them back. Its image when this host still has it, else its commit built again; a
    note on the old release says which new deployment does it. Returns the releases' ids."""
    lost = []
    for live in await read.deployments.with_status(["live"]):
        release = await read.deployments.release(live.app_id)
        if release is None or release.deployment_id != live.id or not release.service_name:
            continue
        if await swarm.service_labels(release.service_name) is None:
            lost.append(release)
    for release in lost:
        why = f"its swarm service {release.service_name} was gone"
        if release.image is not None and await _image_here(runtime, release.image):
            await _redeploy(read, recorder, redeploy, release, why)
        else:
            await _rebuild(read, recorder, rebuild, release, why)
    return [release.deployment_id for release in lost]


async def _redeploy(
    read: ReadModel, recorder: StepRecorder, redeploy: Redeploy, release: ReleaseView, why: str
) -> None:
    """As `_rebuild`, from the image the release ran rather than its commit."""
    assert release.image is not None
    view = await read.deployments.by_id(release.deployment_id)
    again = new_deployment_id()
    await _note(recorder, release, f"{why}; deploying its image {release.image} as {again}")
    try:
        await redeploy(release.app, release.image, view.commit_sha if view else None, again)
    except DomainError as exc:
        await _note(recorder, release, f"{why}; deploying it again was refused: {exc}")


async def _orphan(read: ReadModel, deployment_id: str | None) -> bool:
    """Whether a managed container is this instance's and its deployment is over.

    Its deployment is read when the container is weighed, not once before the engine is
    listed: a deployment started in between (at start, the reconciler races the first
    deploys) would otherwise look over and lose its container. A read model that lags shows
    an earlier status, never a later one, so it can only keep a container longer. In-flight
    deployments belong to pipelines of this process (the interrupted ones were failed first).
    Another Rivetr on the same engine (a second data directory, a test run) labels its
    containers the same way: a deployment this log does not know is its business."""
    if deployment_id is None:
        return False
    deployment = await read.deployments.by_id(deployment_id)
    return deployment is not None and deployment.status not in _KEPT


async def restart_dead_releases(
    read: ReadModel,
    recorder: StepRecorder,
    runtime: ContainerRuntime,
    secrets: SecretBox,
    prober: HealthProber,
    rebuild: Rebuild | None = None,
) -> list[str]:
    """Start again, from the image it was deployed with, each live release whose container is
    gone or stopped (a host reboot, a `docker rm`, an engine reset); the new container gets a new
    host port, which the event carries to the route table. With `rebuild`, a release whose
    image is gone too is built again from its commit as a new deployment, which goes live as
    any does (its old record says so: `deployment.restart_failed`). Returns the deployment ids
    handled."""
    dead = []
    for live in await read.deployments.with_status(["live"]):
        release = await read.deployments.release(live.app_id)
        if release is None or release.deployment_id != live.id or not release.container_name:
            continue
        info = await runtime.inspect_container(release.container_name)
        if info is None:
            dead.append((release, "its container was gone"))
        elif info.state not in _ALIVE:
            dead.append((release, f"its container was {info.state}"))
    restarts = []
    for release, why in dead:
        if rebuild is not None and not await _image_here(runtime, release.image):
            restarts.append(_rebuild(read, recorder, rebuild, release, why))
        else:
            restarts.append(_restart(recorder, runtime, secrets, prober, release, why))
    await asyncio.gather(*restarts)
    return [release.deployment_id for release, _ in dead]


async def _image_here(runtime: ContainerRuntime, image: str | None) -> bool:
    try:
        return image is not None and await runtime.image_exists(image)
    except (ContainerError, EngineUnavailable):
        return True  # not known to be gone: starting it says what is wrong


async def _rebuild(
    read: ReadModel, recorder: StepRecorder, rebuild: Rebuild, release: ReleaseView, reason: str
) -> None:
    """Record on the old release that it cannot be started, and why, naming the deployment
    that builds its commit again; then ask for that deployment. The note comes first: the new
    one may go live (and the old one be superseded) before a note after it could be made."""
    now = await read.deployments.release(release.app_id)
    if now is None or now.deployment_id != release.deployment_id:
        return  # a deployment went live meanwhile (the service had only just started)
    view = await read.deployments.by_id(release.deployment_id)
    commit = view.commit_sha if view is not None else None
    gone = f"{reason} and its image {release.image} is not on this host"
    again = new_deployment_id()
    if commit is None:
        outcome = f"{gone}; no commit is recorded to build it from: deploy it again"
    else:
        outcome = f"{gone}; building it again from {commit[:12]} as deployment {again}"
    await _note(recorder, release, outcome)
    if commit is None:
        return
    try:
        await rebuild(release.app, commit, again)
    except DomainError as exc:
        await _note(recorder, release, f"{gone}; building it again was refused: {exc}")


async def _note(recorder: StepRecorder, release: ReleaseView, reason: str) -> None:
    log.warning("the live release of %s: %s", release.app, reason)
    with contextlib.suppress(IllegalTransition):  # superseded meanwhile: the new one serves
        await recorder.record(
            release.deployment_id,
            ReleaseRestartFailed(
                deployment_id=release.deployment_id, app=release.app, reason=reason
            ),
        )


async def _restart(
    recorder: StepRecorder,
    runtime: ContainerRuntime,
    secrets: SecretBox,
    prober: HealthProber,
    release: ReleaseView,
    reason: str,
) -> None:
    app = await AppLookup(recorder.store).by_id(release.app_id)
    outcome: Event
    if not app.exists or release.image is None:
        return
    assert release.container_name is not None
    try:
        app = open_app(secrets, app)
        prepared = await prepare(SharedScopes(recorder.store, secrets), app)
        app = prepared.app
        await runtime.remove_container(release.container_name, force=True)
        if prepared.network is not None:
            await runtime.create_network(prepared.network, {MANAGED_LABEL: "true"})
        spec = release_spec(app, release.deployment_id, release.image, prepared.network)
        info = await runtime.run_container(spec)
    except (ContainerError, EngineUnavailable, SecretError, UnresolvedReference) as exc:
        log.warning("could not restart the live release of %s: %s", release.app, exc)
        outcome = ReleaseRestartFailed(
            deployment_id=release.deployment_id,
            app=release.app,
            reason=f"{reason}; starting it again failed: {exc}",
        )
    else:
        health_port = info.host_ports[app.health.port or app.port]
        healthy, _ = await prober.wait_until_healthy(health_port, app.health)
        outcome = ReleaseRestarted(
            deployment_id=release.deployment_id,
            app=release.app,
            reason=reason,
            container_id=info.id,
            container_name=spec.name,
            host_port=info.host_ports[app.port],
            healthy=healthy,
        )
    with contextlib.suppress(IllegalTransition):  # superseded meanwhile: the new one serves
        await recorder.record(release.deployment_id, outcome)
