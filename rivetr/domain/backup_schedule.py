"""When scheduled work runs (a database's backups, a scheduled job): a cron expression read in an
IANA time zone, as Debian's cron reads it (through `cronsim`), and whether a scheduler that woke
up late owes a run."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from rivetr.domain.errors import InvalidCommand

# The nicknames cron itself knows, spelled out in the five fields cronsim reads.
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
# Enough to step past every wall-clock repeat of a DST fall-back, never a loop without end.
MAX_STEPS = 8


def normalise(expr: str) -> str:
    """`expr` with its nickname spelled out and its fields separated by one space."""
    expr = " ".join(expr.split())
    return NICKNAMES.get(expr.lower(), expr)


def zone(tz: str) -> ZoneInfo:
    """The IANA time zone `tz` names.

    Raises:
        InvalidCommand: `tz` names no zone this machine knows (field `time_zone`).
    """
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand(
            f"{tz!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')", field="time_zone"
        ) from None


def validate(expr: str, tz: str = "UTC") -> str:
    """The schedule `expr` in its normal form, once it is known to be one cron can run.

    Raises:
        InvalidCommand: the expression (field `schedule`, the message naming the cron field at
            fault) or the time zone (field `time_zone`) is not valid.
    """
    zone(tz)
    cron = normalise(expr)
    fields = cron.split(" ")
    if len(fields) != len(FIELDS):
        raise InvalidCommand(
            f"a schedule has five fields ({' '.join(FIELDS)}) or is one of "
            f"{', '.join(NICKNAMES)}; {expr!r} has {len(fields) if cron else 0}",
            field="schedule",
        )
    try:
        CronSim(cron, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        found = re.fullmatch(r"Bad (\S+)", str(exc))
        if found and found.group(1) in FIELDS:
            name = found.group(1)
            value = fields[FIELDS.index(name)]
            message = f"the {name} field {value!r} of the schedule {cron!r} is not valid"
        else:
            message = f"the schedule {cron!r} is not valid: {exc}"
        raise InvalidCommand(message, field="schedule") from None
    return cron


def next_after(expr: str, tz: str, after: datetime) -> datetime:
    """The first time strictly after `after` that the schedule names, in UTC.

    Times are read on the zone's wall clock as Debian's cron reads them: a run set inside the
    hour skipped when clocks go forward happens when they do, and a run set inside the hour
    repeated when they go back happens once.

    Args:
        expr: A cron expression (five fields or a nickname such as `@daily`).
        tz: The IANA zone its hours are read in.
        after: Any timezone-aware moment.
    """
    cron, place = validate(expr, tz), zone(tz)
    start = after.astimezone(place)
    runs = CronSim(cron, start)
    for _ in range(MAX_STEPS):
        run = next(runs).astimezone(UTC)
        # cronsim walks the wall clock, which repeats itself when clocks go back: a time it
        # names may lie before `after` on the real one.
        if run > after:
            return run
    raise InvalidCommand(f"the schedule {cron!r} names no time after {after}", field="schedule")


def due(expr: str, tz: str, last_run: datetime, now: datetime) -> bool:
    """Whether a run is owed at `now` when the last one was at `last_run`.

    A scheduler that wakes up late owes one run however many it missed: once it runs at `now`,
    `now` becomes `last_run` and nothing more is due until the next time the schedule names.
    A schedule that never ran passes the moment it was set as `last_run`, so setting it does not
    start a backup by itself.
    """
    return next_after(expr, tz, last_run) <= now


def explain(expr: str) -> str:
    """The schedule in English words ("At 03:00"), for forms and the dashboard."""
    return CronSim(validate(expr), datetime(2000, 1, 1, tzinfo=UTC)).explain()
