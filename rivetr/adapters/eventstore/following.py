"""Following the log: the subscription loop and head notification shared by both stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent


class HeadSignal:
    """Tells waiters that the log's head moved, without a busy loop.

    Commits in this process call `advance` and wake waiters at once. Commits by another process
    (the CLI) are noticed by `poll`, a cheap "what is the head now?" query, run only while
    someone waits and at most once per `poll_interval`.
    """

    def __init__(self, poll: Callable[[], Awaitable[int]], poll_interval: float) -> None:
        self.head = 0
        self._poll = poll
        self._poll_interval = poll_interval
        self._moved = asyncio.Event()
        self._polling = asyncio.Lock()
        self._last_poll = float("-inf")

    def advance(self, head: int) -> None:
        if head > self.head:
            self.head = head
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()

    async def refresh(self) -> int:
        async with self._polling:
            self._last_poll = asyncio.get_running_loop().time()
            self.advance(await self._poll())
        return self.head

    async def _refresh_if_due(self) -> None:
        # several waiters time out in the same second: one query answers them all
        if asyncio.get_running_loop().time() - self._last_poll >= self._poll_interval * 0.9:
            await self.refresh()

    async def wait_beyond(self, after: int, timeout: float | None = None) -> int:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.head <= after:
            remaining = self._poll_interval
            if deadline is not None:
                remaining = min(remaining, deadline - loop.time())
                if remaining <= 0:
                    break
            moved = self._moved
            try:
                await asyncio.wait_for(moved.wait(), remaining)
            except TimeoutError:
                await self._refresh_if_due()
        return self.head


async def follow(store: EventStore, after: int, page: int = 500) -> AsyncIterator[RecordedEvent]:
    """Yield every event after `after`, in order, then each new one as it arrives."""
    while True:
        batch = await store.read_all(after=after, limit=page)
        for event in batch:
            yield event
        if batch:
            after = batch[-1].position
        if len(batch) < page:
            await store.wait_for_new(after)
