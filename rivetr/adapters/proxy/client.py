"""One client connection: an asyncio protocol that parses requests with httptools and forwards
each piece the moment it is parsed, with no task or stream object per request.

Requests on one connection are answered in order: a pipelined request waits in `queue` (its
body buffered, reading paused past a bound) until the one before it is answered. Back-pressure
runs both ways: a client that reads slowly pauses the upstream's reading, an upstream that
reads slowly pauses the client's.

One timer per connection (`_watch`) bounds every wait: on the client for a request head
(`header_timeout_s` from the accept, or from a later request's first byte), for the next piece
of a body, the next request on a kept-alive connection, or for it to read what it was sent
(`idle_timeout_s` each); on the upstream for its answer's head (`RESPONSE_TIMEOUT_S`). The
callbacks only note when a wait began; the timer, when it fires, works out the deadline and
sleeps again until then, never longer than the shortest limit, so a wait that begins later
is never checked late. An established tunnel (WebSocket) is never timed out."""

from __future__ import annotations

import asyncio
import html
import logging
import math
from collections import deque
from typing import Any, Protocol

import httptools

from rivetr.adapters.proxy.balance import Address, Balancer, Group
from rivetr.adapters.proxy.http import (
    CONTINUE,
    DROPPED,
    LAST_CHUNK,
    MAX_HEAD,
    BadMessage,
    bad_gateway,
    chunk,
    forwarded_head,
    gateway_timeout,
    head_bytes,
    page,
    read_in_pieces,
    response_head,
)
from rivetr.adapters.proxy.limits import Admission, ProxyLimits, address_key
from rivetr.adapters.proxy.routes import Upstream
from rivetr.adapters.proxy.stats import ProxyStats
from rivetr.adapters.proxy.upstream import (
    CONNECT_TIMEOUT_S,
    FAILOVER_CONNECT_TIMEOUT_S,
    Pool,
    UpstreamConnection,
)

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT_S = 300.0  # for the upstream's response head; bodies may take longer
BUFFER_LIMIT = 256 * 1024  # request body held while its upstream is not ready: reading pauses
RETRYABLE = frozenset({b"GET", b"HEAD", b"OPTIONS"})
CLOSED = "the connection closed"  # what an upstream connection lost mid-exchange reports
NEVER = math.inf


class Request:
    """One request as parsed so far, and what is to become of it."""

    __slots__ = (
        "answer",
        "balance",
        "chunked",
        "complete",
        "expect_continue",
        "has_body",
        "head",
        "headers",
        "host",
        "keep_alive",
        "leftover",
        "method",
        "pending",
        "size",
        "started",
        "status",
        "tried",
        "upgrade",
        "upgraded",
        "upstream",
        "url",
    )

    def __init__(self) -> None:
        self.method = b""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.size = 0
        self.host = ""
        self.keep_alive = True
        self.chunked = False
        self.has_body = False
        self.expect_continue = False
        self.upgrade: bytes | None = None
        self.upgraded = False
        self.leftover = b""  # bytes after an upgrade's head: they belong to the new protocol
        self.complete = False  # the whole request has been read from the client
        self.pending: list[bytes] = []  # body read but not yet sent upstream, framed to send
        self.answer: bytes | None = None  # answered by the proxy itself
        self.upstream: Upstream | None = None  # a balanced route's: the member chosen at its start
        self.balance: Group | None = None  # the balanced route it goes to
        self.tried: tuple[Address, ...] = ()  # members that failed it (balanced routes)
        self.head = b""  # the head to send upstream
        self.started = 0.0  # when its head was read (loop time): its latency runs from here
        self.status = 0  # of the answer the upstream gave


class Dispatcher(Protocol):
    """What a client connection needs of the proxy that accepted it (`server.ProxyServer`):
    the admission it counts against, the pool of upstream connections, where a request goes,
    and what becomes of a balanced route's member that fails. Named here so that the
    connection does not import the server that imports it."""

    limits: ProxyLimits
    admission: Admission
    pool: Pool
    in_flight: int
    stats: ProxyStats
    balancer: Balancer

    def route(self, request: Request, scheme: str) -> None: ...
    def member_failed(self, member: Upstream, reason: str, now: float) -> None: ...
    def member_connected(self, member: Upstream, now: float) -> None: ...


class ClientConnection(asyncio.Protocol):
    # one per open connection, up to proxy_max_connections of them: no __dict__ each
    __slots__ = (
        "address",
        "admitted",
        "answering",
        "attempt",
        "blocked_since",
        "buffered",
        "client_ip",
        "close_delimited",
        "closed",
        "download_blocked",
        "expired",
        "first_head",
        "forwarding",
        "framed",
        "keep",
        "limits",
        "loop",
        "member",
        "out",
        "parser",
        "patience",
        "paused_reading",
        "proxy",
        "queue",
        "reading",
        "refused",
        "reused",
        "scheme",
        "since",
        "step",
        "transport",
        "tunnel",
        "upload_blocked",
        "upstream",
        "upstream_deadline",
        "watch",
    )

    def __init__(self, proxy: Dispatcher, scheme: str) -> None:
        self.proxy = proxy
        self.scheme = scheme
        self.transport: Any = None
        self.client_ip = b"unknown"
        self.parser = httptools.HttpRequestParser(self)
        self.reading: Request | None = None  # the request the parser is in
        self.queue: deque[Request] = deque()  # read, not yet answered; the first is current
        self.upstream: UpstreamConnection | None = None  # lent to the current request
        self.member: Address | None = None  # a balanced member the current request counts on
        self.out: list[bytes] = []  # the answer's pieces from one upstream read, sent by flush()
        self.attempt = 0
        self.framed = True  # the current answer has a length: forwarded as it comes
        self.keep = True  # the connection stays open after the current answer
        self.answering = False  # the current answer's head has been sent
        self.buffered = 0
        self.paused_reading = False
        self.upload_blocked = False
        self.download_blocked = False
        self.reused = False  # the current upstream connection served a request before
        self.forwarding = False  # the current request counts in the proxy's in_flight
        self.close_delimited = False  # the current answer ends when the upstream closes
        self.tunnel = False
        self.refused = False
        self.closed = False
        # made at the accept, before a TLS handshake, so that the head's time includes it
        self.limits = limits = proxy.limits
        self.loop = loop = asyncio.get_running_loop()
        self.since = loop.time()  # when the wait on the client began
        self.patience = limits.header_timeout_s  # how long that wait may last
        self.first_head = True  # the first request's head is timed from the accept
        self.blocked_since = 0.0  # when the client stopped reading what it is sent
        self.upstream_deadline = NEVER  # for the head of the current answer
        self.step = min(limits.header_timeout_s, limits.idle_timeout_s, RESPONSE_TIMEOUT_S)
        self.watch: asyncio.TimerHandle | None = loop.call_at(self.since + self.step, self._watch)
        self.admitted = proxy.admission.enter()  # counts in the proxy's open connections
        self.address: str | None = None  # counted against this address's limit
        self.expired = False

    # --- asyncio protocol ----------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        read_in_pieces(transport)
        if self.expired:  # a TLS handshake that ended after the head's deadline
            self.closed = True
            transport.abort()
            return
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.client_ip = str(peer[0]).encode()
        if not self.admitted:
            self._turn_away("The server has too many connections open.")
            return
        key = address_key(self.client_ip.decode())
        if self.proxy.admission.enter_address(key):
            self.address = key
        else:
            self._turn_away("Too many connections from your address.")

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.tunnel:
            if self.upstream is not None:
                self.upstream.write(data)
            return
        if self.queue and self.queue[-1].upgraded:
            self.queue[-1].leftover += data  # until the upstream says whether it upgrades
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            request = self.queue[-1]
            request.upgraded = True
            request.leftover = data[upgrade.args[0] :]
            self._set_reading()
        except httptools.HttpParserCallbackError as exc:
            context = exc.__context__
            self._refuse(str(context) if isinstance(context, BadMessage) else "malformed HTTP")
        except httptools.HttpParserError as exc:
            self._refuse(str(exc) or "malformed HTTP")

    def eof_received(self) -> bool:
        upstream = self.upstream
        if self.tunnel and upstream is not None and upstream.transport.can_write_eof():
            upstream.transport.write_eof()
            return True  # half-closed: the other way may still be talking
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.watch is not None:
            self.watch.cancel()
            self.watch = None
        self._release()
        self._forwarded()
        self.queue.clear()
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.close()  # an answer half-relayed: that connection cannot be reused

    def pause_writing(self) -> None:
        self.download_blocked = True
        self.blocked_since = self.loop.time()
        if self.upstream is not None and not self.upstream.closed:
            self.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        self.download_blocked = False
        if self.upstream is not None and not self.upstream.closed:
            self.upstream.transport.resume_reading()

    # --- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.reading = Request()
        if self.first_head:
            self.first_head = False
        else:
            self.since = self.loop.time()
            self.patience = self.limits.header_timeout_s

    def on_url(self, url: bytes) -> None:
        request = self.reading
        assert request is not None
        request.url += url
        self._grow(request, len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self.reading
        assert request is not None
        request.headers.append((name, value))
        # counted here rather than in _grow: this runs for every header of every request
        request.size += len(name) + len(value)
        if request.size > MAX_HEAD:
            raise BadMessage("the request head is too large")

    def on_headers_complete(self) -> None:
        request = self.reading
        assert request is not None
        parser = self.parser
        request.method = parser.get_method()
        request.keep_alive = parser.should_keep_alive()
        request.started = self.loop.time()
        self._read_head(request)
        self.queue.append(request)
        if request.has_body:
            self.since = self.loop.time()
            self.patience = self.limits.idle_timeout_s  # between two pieces of the body
        if len(self.queue) == 1:
            self._start(request)
        else:
            self._set_reading()

    def on_body(self, body: bytes) -> None:
        request = self.reading
        assert request is not None
        self.since = self.loop.time()
        if request.answer is not None:
            return  # answered by the proxy: the body is read and dropped
        data = chunk(body) if request.chunked else body
        if self.upstream is not None and request is self.queue[0]:
            self.upstream.write(data)
        else:
            request.pending.append(data)
            self.buffered += len(data)
            self._set_reading()

    def on_message_complete(self) -> None:
        request = self.reading
        assert request is not None
        self.reading = None
        self.patience = NEVER  # nothing more is awaited from the client until it is answered
        request.complete = True
        if request is not self.queue[0]:
            return
        if request.answer is not None:
            self._answer_locally(request)
        elif self.upstream is not None and request.chunked:
            self.upstream.write(LAST_CHUNK)

    # --- the current request -------------------------------------------------------------

    def _read_head(self, request: Request) -> None:
        """Note what the proxy needs from the headers and build the head to forward."""
        lines = [b"%s %s HTTP/1.1" % (request.method, request.url)]
        forwarded_for = b""
        host = b""
        for name, value in request.headers:
            lower = name.lower()
            if lower not in DROPPED:
                lines.append(name + b": " + value)
                if lower == b"host":
                    host = value
                elif lower == b"content-length":
                    request.has_body = value != b"0"
            elif lower == b"x-forwarded-for":
                forwarded_for = value + b", "
            elif lower == b"transfer-encoding":
                request.chunked = request.has_body = True
            elif lower == b"expect":
                request.expect_continue = value.lower() == b"100-continue"
            elif lower == b"upgrade":
                request.upgrade = value
        request.host = host.decode("latin-1")
        self.proxy.route(request, self.scheme)
        if request.answer is not None:
            return
        lines += [
            b"X-Forwarded-For: " + forwarded_for + self.client_ip,
            b"X-Forwarded-Proto: " + self.scheme.encode(),
            b"X-Forwarded-Host: " + host,
        ]
        if request.chunked:
            lines.append(b"Transfer-Encoding: chunked")
        if request.upgrade is not None and self.parser.should_upgrade():
            lines += [b"Connection: Upgrade", b"Upgrade: " + request.upgrade]
        request.head = b"\r\n".join(lines) + b"\r\n\r\n"

    def _start(self, request: Request) -> None:
        """The request is now first in line: answer it, or find it an upstream."""
        self.answering = False
        if request.answer is not None:
            if request.complete:
                self._answer_locally(request)
            return
        self.proxy.in_flight += 1
        self.forwarding = True
        self.attempt = 0
        if request.expect_continue and not request.complete:
            self.transport.write(CONTINUE)  # the client may send its body now
        if request.balance is not None:
            self._choose(request, request.balance)  # the first choice always finds one
        self._borrow(request)

    def _choose(self, request: Request, group: Group) -> bool:
        """Pick the member of a balanced route the request goes to now (False: it has tried
        them all), and count it there, in place of the member it tried before."""
        balancer = self.proxy.balancer
        index = balancer.choose(group, self.loop.time(), request.tried)
        if index is None:
            return False
        self._let_go()
        request.upstream = group.members[index]
        self.member = address = group.addresses[index]
        balancer.enter(address)
        return True

    def _borrow(self, request: Request, *, fresh: bool = False) -> None:
        upstream = request.upstream
        assert upstream is not None
        self.attempt += 1
        connection = None if fresh else self.proxy.pool.take((upstream.host, upstream.port))
        if connection is not None:
            self._send(request, connection, reused=True)
        else:
            asyncio.get_running_loop().create_task(self._connect(request, upstream))

    async def _connect(self, request: Request, upstream: Upstream) -> None:
        group = request.balance
        address = (upstream.host, upstream.port)
        timeout = CONNECT_TIMEOUT_S
        if group is not None and len(request.tried) + 1 < len(group.addresses):
            timeout = FAILOVER_CONNECT_TIMEOUT_S  # another member could answer meanwhile
        try:
            connection = await self.proxy.pool.connect(address, timeout)
        except (OSError, TimeoutError) as exc:
            waiting = not self.closed and bool(self.queue) and self.queue[0] is request
            if group is not None:  # counted against the member whether its client waits or not
                self.proxy.member_failed(upstream, repr(exc), self.loop.time())
                if waiting:
                    self._failover(request, group)  # nothing of it reached the upstream
            elif waiting:
                log.info("upstream of %s (%s) unreachable: %r", upstream.app, upstream.port, exc)
                self._fail(bad_gateway(upstream.app, upstream.deployment_id), 502)
            return
        if group is not None and self.proxy.balancer.out:
            self.proxy.member_connected(upstream, self.loop.time())
        if self.closed or not self.queue or self.queue[0] is not request:
            connection.close()
            return
        self._send(request, connection, reused=False)

    def _send(self, request: Request, connection: UpstreamConnection, *, reused: bool) -> None:
        self.upstream = connection
        self.reused = reused
        connection.lend(self, bodiless=request.method == b"HEAD")
        if self.download_blocked:
            connection.transport.pause_reading()
        connection.write(request.head)
        if request.pending:
            connection.write(b"".join(request.pending))
            self.buffered -= sum(len(p) for p in request.pending)
            request.pending = []
        if request.complete and request.chunked:
            connection.write(LAST_CHUNK)
        self.upstream_deadline = self.loop.time() + RESPONSE_TIMEOUT_S
        self._set_reading()

    # --- balanced routes: failing members ------------------------------------------------

    def _failover(self, request: Request, group: Group) -> None:
        """Send a request its member failed on to another one, unless it has tried them all."""
        failed = request.upstream
        assert failed is not None
        request.tried += ((failed.host, failed.port),)
        if self._choose(request, group):
            self.proxy.stats.failed_over(group.route.app)
            self.attempt = 0
            self._borrow(request)
        else:
            self._fail(bad_gateway(failed.app, failed.deployment_id), 502)

    # --- the upstream's answer (Borrower) ------------------------------------------------

    def response_head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.upstream_deadline = NEVER
        request = self.queue[0]
        request.status = status
        if status == 101:
            if request.upgraded:  # else: refused in upstream_upgraded, which follows
                upgrade = next((v for n, v in headers if n.lower() == b"upgrade"), b"")
                self.out.append(response_head(101, headers, upgrade=upgrade))
                self.answering = True
            return
        self.answering = True
        bodiless = request.method == b"HEAD" or status in (204, 304)
        lines, length, chunked = forwarded_head(headers)
        self.framed = length or bodiless
        self.close_delimited = not self.framed and not chunked
        # an answer before the whole request was read, or to an upgrade refused: the rest of
        # what the client sends cannot be told apart from a next request
        self.keep = (
            request.keep_alive
            and (self.framed or chunked)
            and request.complete
            and not request.upgraded
        )
        self.out.append(head_bytes(status, lines, chunked=not self.framed, keep=self.keep))

    def response_body(self, data: bytes) -> None:
        self.out.append(data if self.framed else chunk(data))

    def response_end(self, upstream: UpstreamConnection) -> None:
        if not self.framed:
            self.out.append(LAST_CHUNK)
        self.upstream = None
        self._finish()

    def upstream_upgraded(self, upstream: UpstreamConnection, leftover: bytes) -> None:
        request = self.queue[0]
        target = request.upstream
        assert target is not None
        if not request.upgraded:  # switching protocols unasked: nothing the client can use
            self.upstream = None
            upstream.close()
            self._fail(bad_gateway(target.app, target.deployment_id), 502)
            return
        # what passes through the tunnel is not requests: the upgrade is counted as one
        self._count(request, 101, self.loop.time())
        self.tunnel = True
        if leftover:
            self.out.append(leftover)
        if request.leftover:
            upstream.write(request.leftover)
        request.leftover = b""
        self._set_reading()

    def upstream_failed(self, upstream: UpstreamConnection, reason: str) -> None:
        if self.closed or not self.queue:
            return
        self.flush()
        self.upstream = None
        request = self.queue[0]
        target = request.upstream
        assert target is not None
        if self.tunnel:
            self.transport.close()
        elif self.answering:
            if self.close_delimited and reason == CLOSED:
                self.transport.write(LAST_CHUNK)  # an answer whose end is the connection's end
                self._finish()
            else:
                self.transport.abort()  # cut short: the client must not take it as whole
        elif self.reused and self.attempt == 1 and self._retryable(request):
            # the upstream closed an idle connection: once more, on a fresh one (the others
            # kept as long may be closing too)
            self._borrow(request, fresh=True)
        elif request.balance is not None and reason == CLOSED and not self.reused:
            # a fresh connection cut before any answer (a kept-alive one the member closed
            # while idle is no sign): that member is failing. The request may have reached
            # it, so only one safe to send twice goes on to another
            self.proxy.member_failed(target, reason, self.loop.time())
            if self._retryable(request):
                self._failover(request, request.balance)
            else:
                self._fail(bad_gateway(target.app, target.deployment_id), 502)
        else:
            log.info("upstream of %s (%s) failed: %s", target.app, target.port, reason)
            self._fail(bad_gateway(target.app, target.deployment_id), 502)

    def flush(self) -> None:
        """Send what the upstream's last read produced in one write: a head and a small body
        go out in one segment, not two."""
        if self.out:
            data = self.out[0] if len(self.out) == 1 else b"".join(self.out)
            self.out.clear()
            if not self.closed:
                self.transport.write(data)

    def tunnel_data(self, data: bytes) -> None:
        self.transport.write(data)

    def tunnel_eof(self) -> None:
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()

    def upload_paused(self, paused: bool) -> None:
        self.upload_blocked = paused
        self._set_reading()

    # --- endings -------------------------------------------------------------------------

    def _finish(self) -> None:
        """The current request is answered: on to the next, or close."""
        request = self.queue[0]
        now = self.loop.time()
        if request.status:  # answered by its upstream (not by the proxy): counted as sent
            self._count(request, request.status, now)
        self.flush()
        self.queue.popleft()
        self._forwarded()
        self.upstream_deadline = NEVER
        if not self.keep:
            self.transport.close()
            self.closed = True
            return
        self.keep = True
        self.framed = True
        self.close_delimited = False
        if self.queue:
            self._start(self.queue[0])
        elif self.reading is None:  # kept alive, waiting for the next request
            self.since = now
            self.patience = self.limits.idle_timeout_s
        self._set_reading()

    def _answer_locally(self, request: Request) -> None:
        assert request.answer is not None
        self.keep = request.keep_alive
        self.transport.write(request.answer)
        self._finish()

    def _fail(self, answer: bytes, status: int) -> None:
        """Answer the current request with the proxy's own error page, then close."""
        self.upstream_deadline = NEVER
        if not self.closed:
            if self.queue:
                self._count(self.queue[0], status, self.loop.time())
            self.transport.write(answer)
            self.transport.close()
            self.closed = True

    def _refuse(self, reason: str) -> None:
        """What came in is not HTTP we can forward: a 400 once what is in flight is done."""
        bad = Request()
        bad.answer = page(400, "Bad request", html.escape(reason))
        bad.keep_alive = False
        bad.complete = True
        self.refused = True
        self.reading = None
        self.queue.append(bad)
        self.paused_reading = True
        self.transport.pause_reading()
        if len(self.queue) == 1:
            self._start(bad)

    def _turn_away(self, reason: str) -> None:
        """Over a connection limit: a 503 at once, before anything is read, and close."""
        self.refused = self.closed = True
        self._release()
        self.transport.write(page(503, "Service unavailable", reason))
        self.transport.close()

    def _watch(self) -> None:
        """The connection's timer: act on a wait past its deadline, else sleep again."""
        self.watch = None
        if self.closed or self.tunnel:
            return
        now = self.loop.time()
        if now >= self.upstream_deadline:
            self.upstream_deadline = NEVER
            if self.upstream is not None and not self.answering:
                self._upstream_timed_out(self.upstream)
                return
        if self.download_blocked:
            deadline = self.blocked_since + self.limits.idle_timeout_s
        elif self.paused_reading:
            deadline = NEVER  # the proxy itself is not reading: nothing to hold against the client
        else:
            deadline = self.since + self.patience
        if now >= deadline:
            self._client_timed_out()
            return
        wake = min(deadline, self.upstream_deadline, now + self.step)
        self.watch = self.loop.call_at(wake, self._watch)

    def _client_timed_out(self) -> None:
        """Close a connection that kept the proxy waiting: with a 408 when a request was
        coming in and nothing has been answered yet, else without a word (an idle keep-alive
        connection; an answer under way is cut short, so that it cannot pass for whole)."""
        self.closed = True
        if self.transport is None:  # the TLS handshake has not finished: asyncio ends it
            self.expired = True
            self._release()
        elif self.answering or self.download_blocked:
            self.transport.abort()
        elif self.reading is not None or self.queue:
            self.transport.write(page(408, "Request timeout", "The request came too slowly."))
            self.transport.close()
        else:
            self.transport.close()

    def _upstream_timed_out(self, connection: UpstreamConnection) -> None:
        target = self.queue[0].upstream
        self.upstream = None
        connection.close()
        self._fail(gateway_timeout(target.app if target else "?"), 504)

    def _release(self) -> None:
        """Give back this connection's places under the limits (once)."""
        if self.admitted:
            self.admitted = False
            self.proxy.admission.leave()
        if self.address is not None:
            self.proxy.admission.leave_address(self.address)
            self.address = None

    # --- helpers -------------------------------------------------------------------------

    def _retryable(self, request: Request) -> bool:
        # safe to send again on a fresh connection: nothing but the head was sent, and
        # sending it twice changes nothing
        return not request.has_body and request.method in RETRYABLE

    def _set_reading(self) -> None:
        """Read from the client unless something downstream of it is full or undecided."""
        if self.closed:
            return
        waiting_upgrade = bool(self.queue) and self.queue[-1].upgraded and not self.tunnel
        pause = (
            self.upload_blocked
            or self.buffered > BUFFER_LIMIT
            or len(self.queue) > 1
            or waiting_upgrade
        )
        if pause != self.paused_reading:
            self.paused_reading = pause
            if pause:
                self.transport.pause_reading()
            else:
                self.since = self.loop.time()  # the client could not send while paused
                self.transport.resume_reading()

    def _forwarded(self) -> None:
        """The current request no longer counts as in flight (answered, or its client gone;
        a pipelined request behind it never started counting)."""
        if self.forwarding:
            self.forwarding = False
            self.proxy.in_flight -= 1
        if self.member is not None:
            self._let_go()

    def _let_go(self) -> None:
        """The current request no longer counts on the balanced member it was sent to."""
        if self.member is not None:
            self.proxy.balancer.leave(self.member)
            self.member = None

    def _count(self, request: Request, status: int, now: float) -> None:
        upstream = request.upstream
        if upstream is not None:
            stats = self.proxy.stats
            stats.observe(upstream.app, status, now - request.started)
            if request.balance is not None:
                stats.answered_by(upstream.app, upstream.host, upstream.port)

    @staticmethod
    def _grow(request: Request, size: int) -> None:
        request.size += size
        if request.size > MAX_HEAD:
            raise BadMessage("the request head is too large")
