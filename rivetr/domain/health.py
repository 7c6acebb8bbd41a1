"""What a health check's answers mean to a user: each probe in words, when to stop waiting
because the answer cannot change, the sentence a failed check ends with, runs of identical
probes told once, and whether the port an app is set to is one its image listens on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TypeVar

import msgspec

from rivetr.domain.settings import HealthCheck

T = TypeVar("T")

# 4xx answers that may change by waiting: a slow request, too many requests
RETRYABLE_4XX = frozenset({408, 429})


def port_mismatch(exposed: Sequence[int] | None, port: int) -> str | None:
    """The sentence saying the app is set to a port its image does not listen on, or None.

    Args:
        exposed: The TCP ports the image declares (its EXPOSE lines); None when unknown.
        port: The port the app is set to.

    Returns:
        "the image listens on 8080; the app is set to 3000", or None when the image declares
        no port (nothing to compare with) or declares `port`.
    """
    if not exposed or port in exposed:
        return None
    ports = sorted(set(exposed))
    listed = ", ".join(str(p) for p in ports[:-1])
    listens = f"{listed} and {ports[-1]}" if listed else str(ports[-1])
    return f"the image listens on {listens}; the app is set to {port}"


def answer_text(status: int | None, error: str | None) -> str:
    """What came back, in words: "404 Not Found" for an HTTP answer, else the network's word
    ("connection refused")."""
    if status is None:
        return error or "no answer"
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def probe_line(attempt: int, url: str | None, status: int | None, error: str | None) -> str:
    """One probe as the deploy log and the timeline tell it:
    "probe 3: GET http://127.0.0.1:32768/healthz → 404 Not Found"."""
    answer = answer_text(status, error)
    return f"probe {attempt}: GET {url} → {answer}" if url else f"probe {attempt}: {answer}"


def repeats_line(first: int, last: int, status: int | None, error: str | None) -> str:
    """The probes `first` to `last`, each answered as the one before them: said once."""
    probes = f"probes {first}–{last}" if last > first else f"probe {first}"  # noqa: RUF001
    return f"{probes}: {answer_text(status, error)} (same as above)"


def cannot_change(status: int | None) -> bool:
    """An answer that waiting will not change: the app is up and refuses the request (a 4xx
    other than 408 and 429)."""
    return status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX


def gives_up(statuses: Sequence[int | None], check: HealthCheck) -> bool:
    """Whether the check should stop now: its last `check.give_up_after_4xx` answers are the
    same status, one waiting cannot change."""
    n = check.give_up_after_4xx
    last = statuses[-n:]
    return len(last) == n and cannot_change(last[0]) and all(s == last[0] for s in last)


class LastProbe(msgspec.Struct, frozen=True, kw_only=True):
    """The last answer a failed health check got, and how the check ended."""

    status: int | None
    error: str | None
    gave_up: bool = False  # stopped early on an answer that cannot change
    exited: bool = False  # the container stopped during the check


def health_failure(
    check: HealthCheck, port: int, last: LastProbe | None, mismatch: str | None = None
) -> str:
    """The one sentence a failed health check ends with: what was asked, on which port, what
    came back, and what to do about it.

    Args:
        check: The app's health check.
        port: The container port it probed (the check's own, or the app's).
        last: The last answer, or None when no probe ran.
        mismatch: `port_mismatch`'s sentence for the image just built, if any.
    """
    asked = f"the health check GET {check.path} on port {port}"
    if last is not None and last.exited:
        got = "stopped: the container exited; its output is in the log"
    elif last is None:
        got = "got no answer"
    elif last.gave_up:
        answer = answer_text(last.status, last.error)
        got = f"answered {answer} {check.give_up_after_4xx} times in a row"
        if last.status == 404:
            got += ": the app has no such path; set the health path to one it serves"
        elif last.status is not None and last.status in (401, 403):
            got += ": the path needs credentials; set the health path to one served to anyone"
        else:
            got += ": an answer waiting will not change"
    else:
        answer = answer_text(last.status, last.error)
        deadline = f"{check.boot_deadline_s:g} s"
        if last.status is None:
            got = f"got no HTTP answer within {deadline}: {answer}"
        else:
            expected = check.expected_status
            got = f"answered {answer} (expected {expected}) until its {deadline} deadline"
    sentence = f"{asked} {got}"
    if mismatch is not None:
        return f"{mismatch}, so {sentence}; set the app's port to the one the image listens on"
    return sentence


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """Consecutive items that are alike: where the run starts in the list, and how long it is."""

    start: int
    length: int


def runs(items: Sequence[T], key: Callable[[T], object]) -> list[Run]:
    """`items` cut into runs of consecutive items with equal `key`s, in order."""
    found: list[Run] = []
    for index, item in enumerate(items):
        if found and key(items[found[-1].start]) == key(item):
            found[-1] = Run(start=found[-1].start, length=found[-1].length + 1)
        else:
            found.append(Run(start=index, length=1))
    return found
