"""A deployment's steps as a timeline: how long each took, and which ones went wrong."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec

from rivetr.domain.events import (
    DeploymentCancelled,
    DeploymentFailed,
    HealthProbed,
    ReleaseRestarted,
    ReleaseRestartFailed,
    RollbackStarted,
    RolledBack,
    TrafficSwitched,
)
from rivetr.projections.base import tag, tags
from rivetr.projections.deployments import StepView

Mark = Literal["ok", "bad", "rollback", "live"]

_BAD = tags(DeploymentFailed, ReleaseRestartFailed, DeploymentCancelled)
_ROLLBACK = tags(RollbackStarted, RolledBack)
_LIVE = tags(TrafficSwitched, ReleaseRestarted)
_PROBED = tag(HealthProbed)


class TimelineStep(msgspec.Struct, frozen=True, kw_only=True):
    step: StepView
    took_s: float | None  # since the step before it; None for the first
    mark: Mark
    label: str  # the type without its "deployment." prefix


def timeline(steps: Sequence[StepView]) -> list[TimelineStep]:
    rows: list[TimelineStep] = []
    previous: datetime | None = None
    for step in steps:
        at = datetime.fromisoformat(step.recorded_at)
        took = (at - previous).total_seconds() if previous is not None else None
        previous = at
        rows.append(
            TimelineStep(
                step=step,
                took_s=took,
                mark=_mark(step),
                label=step.type.removeprefix("deployment."),
            )
        )
    return rows


def _mark(step: StepView) -> Mark:
    if step.type in _BAD or (step.type == _PROBED and not step.detail.get("ok")):
        return "bad"
    if step.type in _ROLLBACK:
        return "rollback"
    if step.type in _LIVE:
        return "live"
    return "ok"
