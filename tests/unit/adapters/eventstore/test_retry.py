"""The one retry loop: decided again after a conflict, a bounded number of times."""

from __future__ import annotations

import pytest

from rivetr.adapters.eventstore.base import ConcurrencyError
from rivetr.adapters.eventstore.retry import ATTEMPTS, retry_on_conflict

pytestmark = pytest.mark.anyio


class Conflicting:
    """An attempt that meets `conflicts` concurrent writers before it gets through."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise ConcurrencyError("app-a1", self.calls - 1, self.calls)
        return "appended"


async def test_an_attempt_without_conflict_runs_once() -> None:
    attempt = Conflicting(0)
    assert await retry_on_conflict(attempt) == "appended"
    assert attempt.calls == 1


async def test_a_conflict_is_decided_again() -> None:
    attempt = Conflicting(ATTEMPTS - 1)
    assert await retry_on_conflict(attempt) == "appended"
    assert attempt.calls == ATTEMPTS


async def test_the_last_conflict_stands() -> None:
    attempt = Conflicting(ATTEMPTS)
    with pytest.raises(ConcurrencyError, match=f"at version {ATTEMPTS},"):
        await retry_on_conflict(attempt)
    assert attempt.calls == ATTEMPTS


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await retry_on_conflict(refused)
    assert calls == 1
