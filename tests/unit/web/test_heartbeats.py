"""A quiet stream's heartbeats: None between items whenever nothing came for a while, items
never lost to a heartbeat, and the source closed when the reader leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rivetr.web.heartbeats import with_heartbeats

pytestmark = pytest.mark.anyio


class Source:
    def __init__(self, gaps: list[float]) -> None:
        self.gaps = gaps
        self.closed = False

    async def items(self) -> AsyncIterator[int]:
        try:
            for n, gap in enumerate(self.gaps):
                await asyncio.sleep(gap)
                yield n
        finally:
            self.closed = True


async def test_heartbeats_fill_the_quiet_and_every_item_arrives_in_order() -> None:
    source = Source([0, 0.25, 0, 0.12])
    got = [item async for item in with_heartbeats(source.items(), 0.1)]
    assert [item for item in got if item is not None] == [0, 1, 2, 3]
    assert got[:2] == [0, None]  # 0.25 s without an item: two heartbeats before the next
    assert got.count(None) >= 3
    assert source.closed


async def test_leaving_closes_the_source_waiting_for_its_next_item() -> None:
    source = Source([0, 60])
    stream = with_heartbeats(source.items(), 0.05)
    assert await anext(stream) == 0
    assert await anext(stream) is None
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    assert source.closed
