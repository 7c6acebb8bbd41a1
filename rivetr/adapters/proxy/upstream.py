"""Connections to releases: one asyncio protocol per connection, parsing responses with
httptools and handing each piece straight to the client connection it is lent to; idle ones
are kept alive in a pool per address."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Protocol

import httptools

from rivetr.adapters.proxy.http import MAX_HEAD, BadMessage, read_in_pieces

CONNECT_TIMEOUT_S = 5.0
# for a member of a balanced route while another could take the request: a connection that
# takes longer is most likely to a replica that is gone, and each request waiting on it waits
# this long; 2 s still covers one lost SYN (resent after 1 s)
FAILOVER_CONNECT_TIMEOUT_S = 2.0
IDLE_PER_UPSTREAM = 128  # kept-alive upstream connections held per release (below: churn)

Address = tuple[str, int]


class Borrower(Protocol):
    """The client connection an upstream connection is lent to, for one exchange."""

    def response_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None: ...
    def response_body(self, data: bytes) -> None: ...
    def response_end(self, upstream: UpstreamConnection) -> None: ...
    def upstream_upgraded(self, upstream: UpstreamConnection, leftover: bytes) -> None: ...
    def upstream_failed(self, upstream: UpstreamConnection, reason: str) -> None: ...
    def tunnel_data(self, data: bytes) -> None: ...
    def tunnel_eof(self) -> None: ...
    def upload_paused(self, paused: bool) -> None: ...
    def flush(self) -> None: ...


class UpstreamConnection(asyncio.Protocol):
    def __init__(self, pool: Pool, address: Address) -> None:
        self.pool = pool
        self.address = address
        self.transport: Any = None
        self.borrower: Borrower | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.size = 0
        self.interim = False  # a 1xx answer before the final one: skipped
        self.complete = True  # no answer half-read: the connection can serve another request
        self.bodiless = False  # the answer to a HEAD: its head promises a body that never comes
        self.upgrading = False  # a 101 came: the parser stops at its end, the tunnel follows
        self.tunnel = False
        self.closed = False

    # --- lending -------------------------------------------------------------------------

    def lend(self, borrower: Borrower, *, bodiless: bool) -> None:
        self.borrower = borrower
        self.bodiless = bodiless
        self.complete = False

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.transport.write(data)

    def close(self) -> None:
        self.borrower = None
        if not self.closed:
            self.closed = True
            self.transport.close()

    # --- asyncio protocol ----------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        read_in_pieces(transport)

    def data_received(self, data: bytes) -> None:
        if self.tunnel:
            if self.borrower is not None:
                self.borrower.tunnel_data(data)
            return
        borrower = self.borrower
        if borrower is None:  # an idle connection talking out of turn: not to be trusted
            self.close()
            return
        try:
            self.parser.feed_data(data)
            borrower.flush()
        except httptools.HttpParserUpgrade as upgrade:
            self.tunnel = True
            borrower.upstream_upgraded(self, data[upgrade.args[0] :])
            borrower.flush()
        except httptools.HttpParserCallbackError as exc:
            context = exc.__context__
            reason = str(context) if isinstance(context, BadMessage) else "a broken answer"
            self._fail(borrower, reason)
        except httptools.HttpParserError as exc:
            self._fail(borrower, str(exc) or "a malformed answer")

    def eof_received(self) -> bool:
        if self.tunnel and self.borrower is not None:
            self.borrower.tunnel_eof()
            return True  # half-closed: the other way may still be talking
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        borrower, self.borrower = self.borrower, None
        if borrower is not None and not self.complete:
            borrower.upstream_failed(self, "the connection closed")

    def pause_writing(self) -> None:
        if self.borrower is not None:
            self.borrower.upload_paused(True)

    def resume_writing(self) -> None:
        if self.borrower is not None:
            self.borrower.upload_paused(False)

    # --- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.headers = []
        self.size = 0

    def on_status(self, status: bytes) -> None:
        self._grow(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        # counted here rather than in _grow: this runs for every header of every answer
        self.size += len(name) + len(value)
        if self.size > MAX_HEAD:
            raise BadMessage("the answer's head is too large")

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.interim = True  # 100 Continue, 103 Early Hints: the final answer follows
            return
        self.upgrading = status == 101
        if self.borrower is not None:
            self.borrower.response_head(status, self.headers)
        if self.bodiless and status != 101:
            self._end()

    def on_body(self, body: bytes) -> None:
        if not self.interim and self.borrower is not None:
            self.borrower.response_body(body)

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
        elif not self.bodiless and not self.upgrading:
            self._end()

    # ---

    def _end(self) -> None:
        self.complete = True
        # after an answer to HEAD the parser still waits for the body its head promised, so
        # that connection is not reused
        reusable = self.parser.should_keep_alive() and not self.bodiless
        borrower, self.borrower = self.borrower, None
        if borrower is not None:
            borrower.response_end(self)
        if reusable and not self.closed:
            self.pool.put(self)
        else:
            self.close()

    def _grow(self, size: int) -> None:
        self.size += size
        if self.size > MAX_HEAD:
            raise BadMessage("the answer's head is too large")

    def _fail(self, borrower: Borrower, reason: str) -> None:
        self.complete = True
        self.borrower = None
        borrower.upstream_failed(self, reason)
        self.close()


class Pool:
    """Idle keep-alive connections per upstream address."""

    def __init__(self) -> None:
        self._idle: defaultdict[Address, list[UpstreamConnection]] = defaultdict(list)

    def take(self, address: Address) -> UpstreamConnection | None:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    async def connect(
        self, address: Address, timeout: float = CONNECT_TIMEOUT_S
    ) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(lambda: UpstreamConnection(self, address), *address),
            timeout,
        )
        return connection

    def put(self, connection: UpstreamConnection) -> None:
        idle = self._idle[connection.address]
        if len(idle) < IDLE_PER_UPSTREAM:
            idle.append(connection)
        else:
            connection.close()

    def forget(self, connection: UpstreamConnection) -> None:
        idle = self._idle.get(connection.address)
        if idle and connection in idle:
            idle.remove(connection)

    def forget_except(self, keep: set[Address]) -> None:
        """Close the idle connections to releases no route points at any more."""
        for address in [a for a in self._idle if a not in keep]:
            for connection in self._idle.pop(address):
                connection.close()
