"""Keeping a quiet stream open: a stream's items, with a `None` between them whenever nothing
came for a while (for a server-sent event comment that proxies and browsers see as life)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def with_heartbeats(source: AsyncIterator[T], every_s: float) -> AsyncIterator[T | None]:
    """`source`'s items, and None each time `every_s` seconds pass without one. The wait for
    the next item survives the heartbeat (it is not cancelled and asked again), so a source
    that cannot be interrupted mid-item loses nothing."""
    waiting: asyncio.Future[T] | None = None
    try:
        while True:
            if waiting is None:
                waiting = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait((waiting,), timeout=every_s)
            if not done:
                yield None
                continue
            came, waiting = waiting, None
            try:
                item = came.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if waiting is not None:  # the source is mid-item: stop it there, then close it
            waiting.cancel()
            await asyncio.wait((waiting,))
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()
