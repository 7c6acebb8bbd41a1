"""Host thresholds with hysteresis: raised once when a value reaches the threshold, recovered
once when it falls below the threshold less the margin, never a stream of either; the same
whether the state was kept in memory or folded back from the log after a restart."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.events import Event
from rivetr.domain.host_events import HostThresholdCrossed, HostThresholdRecovered
from rivetr.domain.host_thresholds import HostAlerts, HostThreshold, decide, evolve, fold

DISK = HostThreshold(metric="disk", percent=90.0, margin=5.0, window_s=300.0)
values = st.floats(min_value=-5, max_value=105, allow_nan=False)
thresholds = st.builds(
    HostThreshold,
    metric=st.sampled_from(["disk", "memory", "cpu"]),
    percent=st.floats(min_value=1, max_value=100),
    margin=st.floats(min_value=0, max_value=50),
    window_s=st.sampled_from([60.0, 300.0]),
)


def run(threshold: HostThreshold, samples: list[float], state: HostAlerts) -> list[Event]:
    found: list[Event] = []
    for value in samples:
        events = decide(state, threshold, value)
        assert len(events) <= 1  # one sample, one event at most
        for event in events:
            state = evolve(state, event)
        found += events
    return found


def test_crossing_raises_once_and_says_all_a_notification_needs() -> None:
    state = HostAlerts()
    [crossed] = decide(state, DISK, 93.456)
    assert crossed == HostThresholdCrossed(
        metric="disk", value=93.46, threshold=90.0, window_s=300.0, recovers_below=85.0
    )
    state = evolve(state, crossed)
    assert decide(state, DISK, 99.0) == []  # still up: nothing more
    assert decide(state, DISK, 86.0) == []  # below the threshold, within the margin
    [recovered] = decide(state, DISK, 84.9)
    assert recovered == HostThresholdRecovered(
        metric="disk", value=84.9, threshold=90.0, window_s=300.0
    )
    assert evolve(state, recovered).raised == frozenset()


def test_metrics_are_raised_each_on_its_own() -> None:
    memory = HostThreshold(metric="memory", percent=80.0)
    state = evolve(HostAlerts(), decide(HostAlerts(), DISK, 95.0)[0])
    assert [type(e) for e in decide(state, memory, 85.0)] == [HostThresholdCrossed]
    assert decide(state, DISK, 95.0) == []


@given(thresholds, st.lists(values, max_size=60))
def test_any_samples_give_alternating_events_each_past_its_line(threshold, samples) -> None:
    events = run(threshold, samples, HostAlerts())

    kinds = [type(e) for e in events]
    alternating = [(HostThresholdCrossed, HostThresholdRecovered)[i % 2] for i in range(len(kinds))]
    assert kinds == alternating
    for event in events:
        if isinstance(event, HostThresholdCrossed):
            assert event.value >= threshold.percent
        else:
            assert event.value < threshold.recovers_below


@given(thresholds, st.lists(values, max_size=60))
def test_at_most_one_crossing_per_rise_from_below_the_recovery_line(threshold, samples) -> None:
    events = run(threshold, samples, HostAlerts())

    # rises: a value at or over the threshold after one under the recovery line (or at first)
    rises, low = 0, True
    for value in (round(min(max(v, 0.0), 100.0), 2) for v in samples):
        if low and value >= threshold.percent:
            rises, low = rises + 1, False
        elif value < threshold.recovers_below:
            low = True
    assert sum(isinstance(e, HostThresholdCrossed) for e in events) == rises


@given(thresholds, st.lists(values, max_size=40), st.lists(values, max_size=40))
def test_a_restart_folds_the_state_back_and_decides_the_same(threshold, before, after) -> None:
    logged = run(threshold, before, HostAlerts())
    kept = fold(logged)

    assert kept.version == len(logged)
    continuous = run(threshold, before + after, HostAlerts())
    assert run(threshold, after, kept) == continuous[len(logged) :]


@given(st.lists(st.floats(min_value=85.0, max_value=95.0), max_size=50))
def test_a_value_hovering_at_the_threshold_raises_once_and_never_recovers(samples) -> None:
    events = run(DISK, [95.0, *samples], HostAlerts())
    assert [type(e) for e in events] == [HostThresholdCrossed]
