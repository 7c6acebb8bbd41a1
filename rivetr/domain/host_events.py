"""The facts of the host's thresholds (stream "host-thresholds") and of its disk (stream
"host-storage"), as members of the one tagged union in `events.py`: a metric of the host
crossed its threshold, or came back below it; the disk under the data refused writes, or takes
them again. Each says what it is about on its own, so that a notification or the audit can show
it without looking anything up."""

from __future__ import annotations

from datetime import datetime
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


StorageFaultKind = Literal["full", "read_only", "io"]
Folder = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]
Refused = Annotated[int, msgspec.Meta(ge=0, le=2**53)]


class HostStorageFailed(Event, frozen=True, kw_only=True, tag="host.storage_failed"):
    """The disk holding Rivetr's data (`folder`) refused to write the log since `since`: full,
    read-only or failing, in `reason`'s words. Recorded as soon as it can be (on a full disk,
    in the room the reserve file gave back; on a read-only one, once it is writable again)."""

    kind: StorageFaultKind
    folder: Folder
    reason: Reason
    since: datetime


class HostStorageRecovered(Event, frozen=True, kw_only=True, tag="host.storage_recovered"):
    """The disk holding `folder` takes writes again, with room to spare; `refused` appends were
    refused from `since` until now."""

    kind: StorageFaultKind
    folder: Folder
    refused: Refused
    since: datetime
