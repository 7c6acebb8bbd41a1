"""When the host's disk, memory or CPU use crosses its threshold, and when it recovers: a pure
decision with hysteresis. A metric is raised once when its value reaches the threshold and
recovered once when it falls below the threshold less a margin; between the two, whatever the
values, nothing more. Which metrics stand raised is folded from the log, so a restart neither
raises one again nor forgets one."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rivetr.domain.events import Event
from rivetr.domain.host_events import HostMetric, HostThresholdCrossed, HostThresholdRecovered

STREAM = "host-thresholds"


class HostThreshold(msgspec.Struct, frozen=True, kw_only=True):
    """One watched metric: raised at `percent` or above, recovered below `percent - margin`,
    each value averaged over `window_s`."""

    metric: HostMetric
    percent: float
    margin: float = 5.0
    window_s: float = 300.0

    @property
    def recovers_below(self) -> float:
        return max(self.percent - self.margin, 0.0)


class HostAlerts(msgspec.Struct, frozen=True, kw_only=True):
    raised: frozenset[str] = frozenset()  # the metrics crossed and not yet recovered
    version: int = 0  # events of the stream folded: where the next append goes


def evolve(state: HostAlerts, event: Event) -> HostAlerts:
    match event:
        case HostThresholdCrossed():
            raised = state.raised | {event.metric}
        case HostThresholdRecovered():
            raised = state.raised - {event.metric}
        case _:
            return state
    return HostAlerts(raised=raised, version=state.version + 1)


def fold(events: Iterable[Event]) -> HostAlerts:
    state = HostAlerts()
    for event in events:
        state = evolve(state, event)
    return state


def decide(state: HostAlerts, threshold: HostThreshold, value: float) -> list[Event]:
    """What one averaged `value` (percent) of the threshold's metric changes: a crossing when
    it is not raised and the value reached the threshold, a recovery when it is raised and the
    value fell below the threshold less the margin, else nothing."""
    value = round(min(max(value, 0.0), 100.0), 2)
    metric = threshold.metric
    if metric not in state.raised and value >= threshold.percent:
        return [
            HostThresholdCrossed(
                metric=metric,
                value=value,
                threshold=threshold.percent,
                window_s=threshold.window_s,
                recovers_below=round(threshold.recovers_below, 2),
            )
        ]
    if metric in state.raised and value < threshold.recovers_below:
        return [
            HostThresholdRecovered(
                metric=metric, value=value, threshold=threshold.percent, window_s=threshold.window_s
            )
        ]
    return []
