"""Start-up reconciliation: make the engine and the log agree again after a crash.

A deployment caught mid-way is failed (its container removed; the previous release never
stopped serving), a release left live beside a newer one is superseded, superseded releases are
retired, and managed containers that belong to no live or draining release are removed. Every
action is an event.
"""

from __future__ import annotations

import contextlib
import logging

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.runtime.base import (
    DEPLOYMENT_LABEL,
    MANAGED_LABEL,
    ContainerError,
    ContainerRuntime,
    EngineUnavailable,
)
from rivetr.domain.deployment import IN_FLIGHT, IllegalTransition
from rivetr.domain.events import (
    DeploymentFailed,
    DeploymentSuperseded,
    OrphanContainerRemoved,
    RolledBack,
)
from rivetr.projections.views import ReadModel
from rivetr.service.deployer import Deployer
from rivetr.service.steps import StepRecorder

log = logging.getLogger(__name__)


async def fail_interrupted(read: ReadModel, recorder: StepRecorder) -> list[str]:
    """Fail every deployment the last run left in flight; needs no engine. Returns their ids."""
    failed = []
    for stuck in await read.deployments_with_status(IN_FLIGHT):
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
    for stuck in await read.deployments_with_status(["rolling_back"]):
        live = await read.live_release(stuck.app)
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
    read: ReadModel, recorder: StepRecorder, runtime: ContainerRuntime, deployer: Deployer
) -> list[str]:
    """Supersede stray live releases, retire superseded ones, remove orphan containers.
    Returns the names of the containers removed as orphans."""
    for live in await read.deployments_with_status(["live"]):
        release = await read.live_release(live.app)
        if release is not None and release.deployment_id != live.id:
            with contextlib.suppress(IllegalTransition):
                await recorder.record(
                    live.id,
                    DeploymentSuperseded(
                        deployment_id=live.id, by_deployment_id=release.deployment_id, drain_s=0
                    ),
                )
    for draining in await read.deployments_with_status(["superseded"]):
        await deployer.schedule_retire(draining.id, 0)

    # in-flight ones belong to pipelines of this process (the interrupted ones were failed first)
    keep = {d.id for d in await read.deployments_with_status(["live", "superseded", *IN_FLIGHT])}
    removed = []
    for container in await runtime.list_containers({MANAGED_LABEL: "true"}):
        owner = container.labels.get(DEPLOYMENT_LABEL)
        if owner in keep:
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
            EventMeta(actor="system:reconciler", correlation_id=owner),
        )
    return removed
