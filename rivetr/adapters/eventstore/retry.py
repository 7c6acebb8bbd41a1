"""The one bounded retry loop of every decision: read the streams, decide, append at the
versions read; when a concurrent writer moved a stream on meanwhile, decide again against the
newer state, a few times, then let the conflict stand."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rivetr.adapters.eventstore.base import ConcurrencyError

T = TypeVar("T")

# Deciding is pure and cheap, so a retry costs a read; more than a few conflicts in a row means
# a writer is looping, and the caller is better told than kept waiting.
ATTEMPTS = 5
_PAUSE_S = 0.002


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """Run `attempt` (one read, decide and append) until it does not meet a ConcurrencyError,
    at most `attempts` times; the last attempt's conflict is raised."""
    for remaining in range(attempts - 1, -1, -1):
        try:
            return await attempt()
        except ConcurrencyError:
            if not remaining:
                raise
        # Writers that met on one stream (every create claims its name in `claims`) would meet
        # again if they all retried at once, one winning each time: a random pause, growing,
        # lets them through one after another.
        await asyncio.sleep(random.uniform(0, _PAUSE_S * 2 ** (attempts - 1 - remaining)))
    raise ValueError(f"attempts must be at least 1, not {attempts}")
