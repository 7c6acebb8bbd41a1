"""A server-sent event response that the event hub writes to itself, on its own turn.

With a thousand readers, handing each new event to a queue that the reader's own task then
drains through a generator and the framework's streaming response costs about a tenth of a
millisecond per reader, one after another on one event loop: a tenth of a second for the last
reader. Here the hub calls `push` for each reader, and `push` starts the ASGI `send` by hand:
when the connection can take the bytes (nearly always), it completes at once with no task and
no switch. Only when the client's socket is full does the rest of that send, and what follows
it, move to a task of its own; a client that stays `limit` messages behind is cut off, and
resumes with `Last-Event-ID` like any other."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Coroutine
from typing import Any

from litestar.types import HTTPResponseBodyEvent, Receive, Scope, Send

from rivetr.service.reactors.hub import Delivery, EventHub, StreamFilter, Subscription
from rivetr.web.stopping import Stopping

log = logging.getLogger(__name__)

KEEP_ALIVE = b": keep-alive\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


class PushedEventStream:
    """The ASGI response for one reader of the event stream."""

    def __init__(
        self,
        hub: EventHub,
        wanted: StreamFilter,
        after: int | None,
        *,
        heartbeat_s: float,
        limit: int,
        stopping: Stopping | None = None,
    ) -> None:
        self.hub = hub
        self.stopping = stopping
        self.wanted = wanted
        self.after = after
        self.heartbeat_s = heartbeat_s
        self.limit = limit
        self.backlog: deque[bytes] = deque()
        self.writer: asyncio.Task[None] | None = None  # finishing a send that had to wait
        self.quiet = True  # nothing sent since the last heartbeat
        self.ended = False
        self._send: Send | None = None
        self._finished: asyncio.Future[None] | None = None  # done when the reader is cut off

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._send = send
        self._finished = asyncio.get_running_loop().create_future()
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        subscription = await self.hub.subscribe(self.wanted, self.after, limit=self.limit)
        disconnected = asyncio.ensure_future(_disconnect(receive))
        # the server stopping ends the stream as a client leaving does: it resumes elsewhere
        leaving = _first(disconnected, self.stopping)
        try:
            await self._follow(subscription, leaving)
        finally:
            self.hub.unsubscribe(subscription)
            self.ended = True
            disconnected.cancel()
            leaving.cancel()
            if self.writer is not None:
                self.writer.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _follow(self, subscription: Subscription, disconnected: asyncio.Future[None]) -> None:
        """The history, sent in turn, then the live events as the hub pushes them, until the
        client leaves or is cut off; a heartbeat whenever nothing was sent for a while."""
        assert self._send is not None
        assert self._finished is not None
        async for delivery in self.hub.catch_up(subscription):
            await self._send(_chunk(delivery.sse))
            if disconnected.done():
                return
        if subscription.cut:
            return  # too much came while it caught up: it resumes from what it got
        subscription.push_to(self.push)
        while not self.ended:
            done, _ = await asyncio.wait(
                (disconnected, self._finished),
                timeout=self.heartbeat_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if done:
                return
            if self.quiet:
                self.write(KEEP_ALIVE)
            self.quiet = True

    def push(self, delivery: Delivery) -> None:
        self.quiet = False
        self.write(delivery.sse)

    def write(self, data: bytes) -> None:
        if self.ended:
            return
        if self.writer is not None:
            if len(self.backlog) >= self.limit:
                self._end()  # too slow: the response ends, and the client resumes
                self.backlog.clear()
            else:
                self.backlog.append(data)
            return
        assert self._send is not None
        sending = self._send(_chunk(data))
        if not isinstance(sending, Coroutine):  # a server whose send is some other awaitable
            self.writer = asyncio.ensure_future(self._finish(sending))
            return
        try:
            waiting_on = sending.send(None)
        except StopIteration:
            return  # written: the usual case
        except Exception:
            log.exception("an event stream's send failed")
            self._end()
            return
        self.writer = asyncio.ensure_future(self._finish(_resume(sending, waiting_on)))

    def _end(self) -> None:
        self.ended = True
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    async def _finish(self, sending: Awaitable[None]) -> None:
        """The rest of a send that had to wait for the client, then the messages that came
        meanwhile, in order."""
        try:
            await sending
            assert self._send is not None
            while self.backlog and not self.ended:
                await self._send(_chunk(self.backlog.popleft()))
        except Exception:
            log.exception("an event stream's send failed")
            self._end()
        finally:
            self.writer = None


async def _resume(coroutine: Coroutine[Any, Any, None], waiting_on: object) -> None:
    """Run to its end a coroutine started by hand that is suspended on `waiting_on` (what an
    awaited asyncio future yields to its task, or None for a bare yield)."""
    try:
        while True:
            if isinstance(waiting_on, asyncio.Future):
                waiting_on._asyncio_future_blocking = False  # as a task does, before waiting
                await asyncio.wait((waiting_on,))
            else:
                await asyncio.sleep(0)
            try:
                waiting_on = coroutine.send(None)
            except StopIteration:
                return
    finally:
        coroutine.close()  # a no-op once it has finished; otherwise (cancelled) ends it


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _chunk(data: bytes) -> HTTPResponseBodyEvent:
    return {"type": "http.response.body", "body": data, "more_body": True}


def _first(disconnected: asyncio.Future[None], stopping: Stopping | None) -> asyncio.Future[None]:
    """Done when the client disconnects or the server begins to stop."""
    if stopping is None:
        return disconnected

    async def either() -> None:
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait((disconnected, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    return asyncio.ensure_future(either())
