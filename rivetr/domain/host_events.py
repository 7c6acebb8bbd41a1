"""The facts of the host's thresholds (stream "host-thresholds"), as members of the one tagged
union in `events.py`: a metric of the host crossed its threshold, or came back below it. Each
says what it is about on its own (metric, value, threshold, the window averaged over), so that
a notification or the audit can show it without looking anything up."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rivetr.domain.event_base import Event

HostMetric = Literal["disk", "memory", "cpu"]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
WindowSeconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]


class HostThresholdCrossed(Event, frozen=True, kw_only=True, tag="host.threshold_crossed"):
    """The host's `metric` (percent in use: disk of the data directory, memory, CPU busy),
    averaged over the last `window_s` seconds, reached `threshold`. Raised once: the next event
    of this metric is its recovery, once it falls below `recovers_below`."""

    metric: HostMetric
    value: Percent
    threshold: Percent
    window_s: WindowSeconds
    recovers_below: Percent


class HostThresholdRecovered(Event, frozen=True, kw_only=True, tag="host.threshold_recovered"):
    """The host's `metric`, averaged over the last `window_s` seconds, fell back to `value`,
    below its threshold by the margin that keeps a value hovering at it from raising again."""

    metric: HostMetric
    value: Percent
    threshold: Percent
    window_s: WindowSeconds
