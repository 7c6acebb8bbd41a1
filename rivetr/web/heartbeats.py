"""Keeping a quiet stream open: a stream's items, with a `None` between them whenever nothing
came for a while (for a server-sent event comment that proxies and browsers see as life)."""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator
from typing import TypeVar

from rivetr.web.stopping import Stopping

T = TypeVar("T")


async def with_heartbeats(
    source: AsyncIterator[T], every_s: float, until: Stopping | None = None
) -> AsyncIterator[T | None]:
    """`source`'s items, and None each time `every_s` seconds pass without one, until `source`
    ends or `until` is set. The wait for the next item survives the heartbeat (it is not
    cancelled and asked again), so a source that cannot be interrupted mid-item loses
    nothing."""
    waiting: asyncio.Future[T] | None = None
    stop = asyncio.ensure_future(until.wait()) if until is not None else None
    try:
        while True:
            if waiting is None:
                waiting = asyncio.ensure_future(anext(source))
            watched = (waiting,) if stop is None else (waiting, stop)
            done, _ = await asyncio.wait(watched, timeout=every_s, return_when=FIRST_COMPLETED)
            if stop is not None and stop in done:
                return
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
        if stop is not None:
            stop.cancel()
        if waiting is not None:  # the source is mid-item: stop it there, then close it
            waiting.cancel()
            await asyncio.wait((waiting,))
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()
