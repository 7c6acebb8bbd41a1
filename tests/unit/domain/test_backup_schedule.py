"""Backup schedules: cron expressions checked with a message naming the bad field, the next run
strictly after any moment (and nothing named in between), DST in Europe/Berlin neither looping
nor skipping a day, and a late scheduler owing one run however many it missed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.domain.backup_schedule import due, explain, next_after, validate, zone
from rivetr.domain.errors import InvalidCommand

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2032, 1, 1), timezones=st.just(UTC)
)
minutes = st.one_of(
    st.just("*"),
    st.integers(0, 59).map(str),
    st.sampled_from(["*/15", "0,30", "5-10", "*/7"]),
)
hours = st.one_of(
    st.just("*"), st.integers(0, 23).map(str), st.sampled_from(["2", "2,3", "1-4", "*/6"])
)
days = st.sampled_from(["*", "1", "15", "29", "31", "1-7", "L"])
months = st.sampled_from(["*", "*", "2", "3,10", "6-8"])
weekdays = st.sampled_from(["*", "*", "0", "1-5", "SUN", "6"])


def runs_sometime(expr: str) -> bool:
    try:
        validate(expr)
    except InvalidCommand:
        return False  # such as the 31st of February
    return True


expressions = (
    st.builds(lambda *fields: " ".join(fields), minutes, hours, days, months, weekdays)
    .filter(lambda expr: not expr.startswith("* * "))
    .filter(runs_sometime)
)


@pytest.mark.parametrize(
    ("expr", "field_named"),
    [
        ("61 * * * *", "minute field '61'"),
        ("0 24 * * *", "hour field '24'"),
        ("0 0 32 * *", "day-of-month field '32'"),
        ("0 0 30 2 *", "day-of-month field '30'"),
        ("0 0 * 13 *", "month field '13'"),
        ("0 0 * * MON-FUNDAY", "day-of-week field"),
        ("* * * *", "five fields"),
        ("0 0 0 * * *", "five fields"),
        ("@fortnightly", "five fields"),
        ("", "five fields"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(expr: str, field_named: str) -> None:
    with pytest.raises(InvalidCommand, match=field_named) as refused:
        validate(expr)
    assert refused.value.field == "schedule"


def test_a_bad_time_zone_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="IANA time zone") as refused:
        validate("@daily", "Europe/Atlantis")
    assert refused.value.field == "time_zone"


def test_nicknames_and_spacing_are_normalised() -> None:
    assert validate("  @Daily ") == "0 0 * * *"
    assert validate("30  3 * *\t*") == "30 3 * * *"
    assert explain("30 3 * * *") == "At 03:30 every day"


def test_a_run_inside_the_skipped_hour_happens_when_clocks_go_forward() -> None:
    berlin = zone("Europe/Berlin")
    before = datetime(2026, 3, 28, 12, tzinfo=berlin)
    run = next_after("30 2 * * *", "Europe/Berlin", before)
    assert run.astimezone(berlin) == datetime(2026, 3, 29, 3, 0, tzinfo=berlin)


def test_a_run_inside_the_repeated_hour_happens_once_when_clocks_go_back() -> None:
    first = next_after("30 2 * * *", "Europe/Berlin", datetime(2026, 10, 24, 12, tzinfo=UTC))
    second = next_after("30 2 * * *", "Europe/Berlin", first)
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(expressions, st.sampled_from(ZONES), moments, st.floats(0, 1))
def test_the_next_run_is_strictly_after_and_none_is_named_in_between(
    expr: str, tz: str, after: datetime, fraction: float
) -> None:
    run = next_after(expr, tz, after)
    assert run > after
    assert run.tzinfo is UTC
    between = after + (run - after) * fraction
    if between < run:
        assert next_after(expr, tz, between) == run


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 59), st.integers(0, 23), moments)
def test_a_daily_run_in_berlin_neither_loops_nor_skips_a_day(
    minute: int, hour: int, start: datetime
) -> None:
    berlin = zone("Europe/Berlin")
    runs = [next_after(f"{minute} {hour} * * *", "Europe/Berlin", start)]
    for _ in range(3):
        runs.append(next_after(f"{minute} {hour} * * *", "Europe/Berlin", runs[-1]))
    for earlier, later in itertools.pairwise(runs):
        assert timedelta(hours=22) <= later - earlier <= timedelta(hours=26)
        assert later.astimezone(berlin).date() - earlier.astimezone(berlin).date() == timedelta(1)


@pytest.mark.parametrize(("change", "hours"), [((2026, 3, 29), 23), ((2026, 10, 25), 25)])
def test_a_quarter_hourly_schedule_follows_the_real_clock_on_dst_days(
    change: tuple[int, int, int], hours: int
) -> None:
    berlin = zone("Europe/Berlin")
    run = datetime(*change, tzinfo=berlin) - timedelta(seconds=1)
    runs = []
    while (run := next_after("*/15 * * * *", "Europe/Berlin", run)).astimezone(
        berlin
    ).date() == datetime(*change).date():
        runs.append(run)
    assert len(runs) == hours * 4
    assert all(
        later - earlier == timedelta(minutes=15) for earlier, later in itertools.pairwise(runs)
    )


@settings(max_examples=200, deadline=None)
@given(expressions, st.sampled_from(ZONES), moments, st.integers(0, 90 * 24 * 60))
def test_a_late_scheduler_owes_one_run_however_many_it_missed(
    expr: str, tz: str, last_run: datetime, late_minutes: int
) -> None:
    now = last_run + timedelta(minutes=late_minutes)
    assert due(expr, tz, last_run, now) == (next_after(expr, tz, last_run) <= now)
    # Once it runs at `now`, nothing more is owed at `now`.
    assert not due(expr, tz, now, now)
