"""A run's history and the scheduler's decisions: attempts follow one another in order and
nothing follows the final one; the overlap policy; runs missed while Rivetr was down coming to
one run (or one skip); back-off growing to its cap; a shell string run by `sh -c`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.deployment import IllegalTransition
from rivetr.domain.event_base import Event
from rivetr.domain.job_events import JobRunFinished, JobRunRequested, JobRunStarted
from rivetr.domain.job_runs import (
    RETRY_CAP_S,
    argv,
    check,
    fold,
    is_final,
    missed,
    next_due,
    on_overlap,
    retry_delay_s,
)

NAMES = {"job": "nightly", "owner_id": "abcdefghijkl", "owner_name": "web"}


def requested() -> JobRunRequested:
    return JobRunRequested(run_id="r", job_id="j", **NAMES)


def started(attempt: int) -> JobRunStarted:
    return JobRunStarted(run_id="r", job_id="j", attempt=attempt, image="i", container="c")


def finished(attempt: int, outcome: str = "failed", final: bool = False) -> JobRunFinished:
    return JobRunFinished(
        run_id="r",
        job_id="j",
        attempt=attempt,
        outcome=outcome,
        final=final,
        **NAMES,  # type: ignore[arg-type]
    )


def accepted(history: list[Event]) -> bool:
    for done in range(len(history)):
        try:
            check(fold("r", history[:done]), history[done])
        except IllegalTransition:
            return False
    return True


def test_attempts_follow_one_another_until_the_final_one() -> None:
    history: list[Event] = [requested(), started(1), finished(1), started(2)]
    history.append(finished(2, "succeeded", final=True))
    assert accepted(history)
    state = fold("r", history)
    assert (state.status, state.attempt, state.outcome) == ("finished", 2, "succeeded")


@pytest.mark.parametrize(
    "history",
    [
        [started(1)],  # never asked for
        [requested(), requested()],
        [requested(), started(2)],
        [requested(), started(1), started(1)],
        [requested(), started(1), finished(2)],
        [requested(), started(1), finished(1, final=True), started(2)],
        [requested(), finished(1, "skipped", final=True), finished(2)],
    ],
)
def test_what_does_not_follow_is_refused(history: list[Event]) -> None:
    assert not accepted(history)


def test_a_run_may_end_before_any_attempt_started() -> None:
    assert accepted([requested(), finished(1, "skipped", final=True)])
    assert accepted([requested(), finished(1), started(2), finished(2, final=True)])


def test_the_overlap_policy() -> None:
    assert [on_overlap(p, 0) for p in ("forbid", "replace", "allow")] == ["start"] * 3
    assert [on_overlap(p, 2) for p in ("forbid", "replace", "allow")] == [
        "skip",
        "replace",
        "start",
    ]


def test_runs_missed_while_down_come_to_one() -> None:
    last = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    now = last + timedelta(days=3)
    assert missed("0 3 * * *", "UTC", "run_once", last, now) == (
        "run",
        datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
    )
    assert missed("0 3 * * *", "UTC", "skip", last, now) == (
        "skip",
        datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
    )
    assert missed("0 3 * * *", "UTC", "run_once", last, last + timedelta(minutes=59)) is None


def test_the_time_zone_decides_the_hour() -> None:
    after = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert next_due("0 3 * * *", "Europe/Berlin", after) == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


@given(st.integers(1, 40))
def test_back_off_grows_and_is_capped(attempt: int) -> None:
    assert retry_delay_s(attempt) <= RETRY_CAP_S
    assert retry_delay_s(attempt + 1) >= retry_delay_s(attempt)
    assert retry_delay_s(1) == 10.0


@given(st.integers(0, 10), st.integers(1, 12))
def test_a_failure_ends_the_run_only_once_its_retries_are_spent(retries: int, attempt: int) -> None:
    assert is_final("failed", attempt, retries) == (attempt == retries + 1 or attempt > retries)
    assert is_final("timed_out", attempt, retries) == (attempt > retries)
    assert is_final("succeeded", attempt, retries)


def test_a_string_runs_in_a_shell_and_a_list_as_given() -> None:
    assert argv("echo $HOME && date") == ["sh", "-c", "echo $HOME && date"]
    assert argv(["python", "manage.py", "clear"]) == ["python", "manage.py", "clear"]


@given(
    st.lists(st.sampled_from(["requested", "started", "finished", "final", "skipped"]), max_size=10)
)
def test_no_attempt_ever_follows_the_final_one(steps: list[str]) -> None:
    state = fold("r", [])
    history: list[Event] = []
    for step in steps:
        attempt = state.attempt + (0 if state.status == "running" else 1)
        event: Event = {
            "requested": requested(),
            "started": started(attempt),
            "finished": finished(attempt),
            "final": finished(attempt, final=True),
            "skipped": finished(attempt, "skipped", final=True),
        }[step]
        try:
            check(state, event)
        except IllegalTransition:
            continue
        assert state.status != "finished"
        history.append(event)
        state = fold("r", history)
    ended = [e.attempt for e in history if isinstance(e, JobRunFinished)]
    assert ended == list(range(1, len(ended) + 1))  # one after another, none twice
    begun = [e.attempt for e in history if isinstance(e, JobRunStarted)]
    assert begun == sorted(set(begun))
    assert set(begun) <= {*ended, len(ended) + 1}
