"""Following the log: the subscription loop and head notification shared by both stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from rivetr.adapters.eventstore.base import EventStore, RecordedEvent


class HeadSignal:
    """Tells waiters that the log's head moved, without a busy loop.

    Commits in this process call `advance` and wake waiters at once. Commits by another process
    (the CLI) are noticed by `poll`, a cheap "what is the head now?" query, run only while
    someone waits and once per `poll_interval` whoever waits: one timer for all the waiters,
    since a dozen reactors each waking on its own timer was most of the service's idle CPU.
    """

    def __init__(self, poll: Callable[[], Awaitable[int]], poll_interval: float) -> None:
        self.head = 0
        self._poll = poll
        self._poll_interval = poll_interval
        self._moved = asyncio.Event()
        self._polling = asyncio.Lock()
        self._waiting = 0
        self._poller: asyncio.Task[None] | None = None
        self._failure: Exception | None = None

    def advance(self, head: int) -> None:
        if head > self.head:
            self.head = head
            self._wake()

    def _wake(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def refresh(self) -> int:
        async with self._polling:
            self.advance(await self._poll())
        return self.head

    async def _poll_while_waited(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self.refresh()
            except Exception as failure:  # the waiters raise it, as when each polled for itself
                self._failure = failure
                self._poller = None
                self._wake()
                return

    async def wait_beyond(self, after: int, timeout: float | None = None) -> int:
        if self.head > after:  # there already: no poller to start and cancel again
            return self.head
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        self._waiting += 1
        if self._poller is None:
            self._failure = None
            self._poller = loop.create_task(self._poll_while_waited())
        try:
            while self.head <= after:
                moved = self._moved
                if deadline is None:
                    await moved.wait()
                else:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        await asyncio.wait_for(moved.wait(), remaining)
                    except TimeoutError:
                        break
                if self._failure is not None:
                    raise self._failure
        finally:
            self._waiting -= 1
            if not self._waiting and self._poller is not None:
                self._poller.cancel()  # nobody waits: no timer left behind
                self._poller = None
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
