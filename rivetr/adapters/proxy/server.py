"""The reverse proxy: routes each request by its Host to the app's live release.

Bodies stream both ways, chunk by chunk; connections to upstreams are kept alive and reused;
`Upgrade` (WebSocket) connections are spliced through after the upstream's 101. The route table
is swapped whole (one assignment), so a request sees either the old release or the new one:
requests already in flight keep their upstream connection and finish there, new ones go to the
new release. An unknown host gets a 404 page; an upstream that does not answer gets a 502 page
naming the app, never a hang."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import ssl
from collections import defaultdict
from collections.abc import Callable, Mapping

import msgspec

from rivetr.adapters.proxy.http import LAST_CHUNK, BadMessage, MessageReader, chunk

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
RESPONSE_TIMEOUT_S = 300.0  # for the upstream's response head; bodies may take longer
IDLE_PER_UPSTREAM = 32  # kept-alive upstream connections held per release
CHALLENGE_PREFIX = b"/.well-known/acme-challenge/"

# hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy sets itself
_DROPPED = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"expect",  # answered here: the body is read from the client before the upstream sees it
    }
)


class Upstream(msgspec.Struct, frozen=True):
    app: str
    host: str
    port: int
    deployment_id: str


class RouteTable:
    """Host -> upstream. `replace` swaps the whole table at once."""

    def __init__(self, routes: Mapping[str, Upstream] | None = None) -> None:
        self._routes: dict[str, Upstream] = {}
        self.replace(routes or {})

    def replace(self, routes: Mapping[str, Upstream]) -> None:
        self._routes = {host.lower(): upstream for host, upstream in routes.items()}

    def lookup(self, host: str) -> Upstream | None:
        name = _hostname(host)
        routes = self._routes  # one read: the table may be swapped meanwhile
        found = routes.get(name)
        if found is None and "." in name:
            found = routes.get("*." + name.split(".", 1)[1])
        return found

    def __len__(self) -> int:
        return len(self._routes)


class _Pool:
    """Idle keep-alive connections per upstream address."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
        self._idle = defaultdict(list)

    async def get(
        self, upstream: Upstream
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """A connection and whether it was reused (a reused one may have been closed by the
        upstream meanwhile)."""
        idle = self._idle[(upstream.host, upstream.port)]
        while idle:
            reader, writer = idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(upstream.host, upstream.port), CONNECT_TIMEOUT_S
        )
        return reader, writer, False

    def put(
        self, upstream: Upstream, reader: asyncio.StreamReader, w: asyncio.StreamWriter
    ) -> None:
        idle = self._idle[(upstream.host, upstream.port)]
        if len(idle) < IDLE_PER_UPSTREAM:
            idle.append((reader, w))
        else:
            w.close()

    def forget_except(self, keep: set[tuple[str, int]]) -> None:
        """Close the idle connections to releases no route points at any more."""
        for address in [a for a in self._idle if a not in keep]:
            for _, writer in self._idle.pop(address):
                writer.close()


class _UpstreamGone(Exception):
    """A reused connection was closed before the upstream answered: retry on a new one."""


class ProxyServer:
    def __init__(
        self,
        routes: RouteTable,
        *,
        challenge: Callable[[str], str | None] | None = None,
        secured: Callable[[str], bool] | None = None,
    ) -> None:
        self.routes = routes
        self.challenge = challenge  # token -> key authorization, for ACME HTTP-01
        self.secured = secured  # host -> whether it has a certificate: plain HTTP redirects
        self.pool = _Pool()
        self.in_flight = 0

    def routes_changed(self) -> None:
        keep = {(u.host, u.port) for u in self.routes._routes.values()}
        self.pool.forget_except(keep)

    async def serve(
        self, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> asyncio.Server:
        scheme = "https" if tls is not None else "http"

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.handle(reader, writer, scheme)

        return await asyncio.start_server(handle, host, port, limit=2**20, ssl=tls)

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scheme: str = "http"
    ) -> None:
        peer = writer.get_extra_info("peername")
        client_ip = peer[0] if isinstance(peer, tuple) else "unknown"
        request = MessageReader(reader)
        try:
            while await request.head():
                keep_alive = await self._one(request, writer, client_ip, scheme)
                if not keep_alive or request.upgraded:
                    break
        except BadMessage as exc:
            with contextlib.suppress(ConnectionError):
                await _page(writer, 400, "Bad request", html.escape(str(exc)), close=True)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one(
        self, request: MessageReader, client: asyncio.StreamWriter, client_ip: str, scheme: str
    ) -> bool:
        """Forward one request; whether the client connection stays open for the next."""
        host = (request.header(b"host") or b"").decode("latin-1")
        if request.url.startswith(CHALLENGE_PREFIX) and self.challenge is not None:
            token = request.url[len(CHALLENGE_PREFIX) :].decode("latin-1")
            async for _ in request.body():
                pass
            answer = self.challenge(token)
            if answer is None:
                keep = request.keep_alive
                await _page(client, 404, "Not found", "No such ACME challenge.", keep=keep)
            else:
                await _send(client, 200, answer.encode(), b"text/plain", keep=request.keep_alive)
            return request.keep_alive
        if scheme == "http" and self.secured is not None and self.secured(_hostname(host)):
            async for _ in request.body():
                pass
            location = b"https://" + host.encode("latin-1") + request.url
            await _redirect(client, location, keep=request.keep_alive)
            return request.keep_alive
        upstream = self.routes.lookup(host)
        if upstream is None:
            async for _ in request.body():
                pass
            name = html.escape(host or "(none)")
            await _page(
                client,
                404,
                "No application here",
                f"No application on this server answers to the host <b>{name}</b>.",
                keep=request.keep_alive,
            )
            return request.keep_alive
        self.in_flight += 1
        try:
            return await self._forward(request, client, client_ip, host, upstream, scheme)
        finally:
            self.in_flight -= 1

    async def _forward(
        self,
        request: MessageReader,
        client: asyncio.StreamWriter,
        client_ip: str,
        host: str,
        upstream: Upstream,
        scheme: str,
    ) -> bool:
        head = _request_head(request, client_ip, host, scheme)
        chunked = request.header(b"transfer-encoding") is not None
        has_body = chunked or request.header(b"content-length") not in (None, b"0")
        # safe to send again on a fresh connection: nothing but the head was sent, and
        # sending it twice changes nothing
        retryable = not has_body and request.method in (b"GET", b"HEAD", b"OPTIONS")
        expect = request.header(b"expect")
        if expect is not None and expect.lower() == b"100-continue":
            client.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # the client may send its body now
            await client.drain()
        body = request.body()
        for attempt in (1, 2):
            try:
                conn = await self.pool.get(upstream)
            except (OSError, TimeoutError):
                await _down(client, upstream)
                return False
            up_reader, up_writer, reused = conn
            try:
                up_writer.write(head)
                async for data in body:
                    up_writer.write(chunk(data) if chunked else data)
                    await up_writer.drain()
                if chunked:
                    up_writer.write(LAST_CHUNK)
                await up_writer.drain()
                response = MessageReader(up_reader, response=True)
                got = await asyncio.wait_for(response.head(), RESPONSE_TIMEOUT_S)
                while got and 100 <= response.status < 200 and response.status != 101:
                    # an interim answer (100 Continue, 103 Early Hints): the final one follows
                    async for _ in response.body():
                        pass
                    got = await asyncio.wait_for(response.head(), RESPONSE_TIMEOUT_S)
                if not got:
                    raise _UpstreamGone()
            except (_UpstreamGone, ConnectionError) as exc:
                up_writer.close()
                if reused and retryable and attempt == 1:
                    continue  # the upstream closed an idle connection: one more go on a new one
                log.info("upstream of %s (%s) failed: %r", upstream.app, upstream.port, exc)
                await _down(client, upstream)
                return False
            except TimeoutError:
                up_writer.close()
                app = html.escape(upstream.app)
                await _page(client, 504, "Gateway timeout", f"{app} did not answer.", close=True)
                return False
            except BadMessage:
                up_writer.close()
                await _down(client, upstream)
                return False
            return await self._relay(request, response, client, up_reader, up_writer, upstream)
        return False

    async def _relay(
        self,
        request: MessageReader,
        response: MessageReader,
        client: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
        upstream: Upstream,
    ) -> bool:
        status = response.status
        if status == 101 and request.upgraded:
            client.write(_response_head(response, upgrade=True))
            if response.leftover:
                client.write(response.leftover)
            await client.drain()
            await _splice(request, client, up_reader, up_writer)
            return False
        bodiless = request.method == b"HEAD" or status in (204, 304) or 100 <= status < 200
        length = response.header(b"content-length")
        framed = length is not None or bodiless
        keep = request.keep_alive and (framed or response.header(b"transfer-encoding") is not None)
        client.write(_response_head(response, chunked=not framed, keep=keep))
        if bodiless:
            response.finish_without_body()
        else:
            async for data in response.body():
                client.write(data if framed else chunk(data))
                await client.drain()
            if not framed:
                client.write(LAST_CHUNK)
        await client.drain()
        if response.keep_alive and not response.eof and not response.upgraded:
            self.pool.put(upstream, up_reader, up_writer)
        else:
            up_writer.close()
        return keep


def _request_head(request: MessageReader, client_ip: str, host: str, scheme: str) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (request.method, request.url)]
    forwarded_for = request.header(b"x-forwarded-for")
    for name, value in request.headers:
        if name.lower() not in _DROPPED:
            lines.append(name + b": " + value)
    chain = (forwarded_for + b", " if forwarded_for else b"") + client_ip.encode()
    lines += [
        b"X-Forwarded-For: " + chain,
        b"X-Forwarded-Proto: " + scheme.encode(),
        b"X-Forwarded-Host: " + host.encode("latin-1"),
    ]
    if request.header(b"transfer-encoding") is not None:
        lines.append(b"Transfer-Encoding: chunked")
    upgrade = request.header(b"upgrade")
    if request.upgraded and upgrade is not None:
        lines += [b"Connection: Upgrade", b"Upgrade: " + upgrade]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _response_head(
    response: MessageReader, *, chunked: bool = False, keep: bool = True, upgrade: bool = False
) -> bytes:
    reason = _REASONS.get(response.status, b"")
    lines = [b"HTTP/1.1 %d %s" % (response.status, reason)]
    for name, value in response.headers:
        if name.lower() not in _DROPPED:
            lines.append(name + b": " + value)
    if upgrade:
        lines += [b"Connection: Upgrade", b"Upgrade: " + (response.header(b"upgrade") or b"")]
    else:
        if chunked:
            lines.append(b"Transfer-Encoding: chunked")
        if not keep:
            lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _splice(
    request: MessageReader,
    client: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until either side closes (a WebSocket, after its 101)."""

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(OSError, RuntimeError):
            dst.write_eof()

    if request.leftover:
        up_writer.write(request.leftover)
    try:
        await asyncio.gather(pipe(request.reader, up_writer), pipe(up_reader, client))
    finally:
        up_writer.close()


def _hostname(host: str) -> str:
    """The Host header without its port, lower-case."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower().rstrip(".")


async def _redirect(client: asyncio.StreamWriter, location: bytes, *, keep: bool) -> None:
    head = [
        b"HTTP/1.1 308 Permanent Redirect",
        b"Location: " + location,
        b"Content-Length: 0",
    ]
    if not keep:
        head.append(b"Connection: close")
    client.write(b"\r\n".join(head) + b"\r\n\r\n")
    await client.drain()


async def _down(client: asyncio.StreamWriter, upstream: Upstream) -> None:
    app = html.escape(upstream.app)
    await _page(
        client,
        502,
        "Bad gateway",
        f"The application <b>{app}</b> is not answering right now"
        f" (release {html.escape(upstream.deployment_id)}).",
        close=True,
    )


async def _page(
    client: asyncio.StreamWriter,
    status: int,
    title: str,
    message: str,
    *,
    keep: bool = False,
    close: bool = False,
) -> None:
    body = (
        f"<!doctype html><html><head><title>{status} {title}</title></head>"
        f"<body style='font-family:system-ui;margin:3rem'><h1>{title}</h1><p>{message}</p>"
        "<p style='color:#5b6672'>Rivetr</p></body></html>"
    ).encode()
    await _send(client, status, body, b"text/html; charset=utf-8", keep=keep and not close)


async def _send(
    client: asyncio.StreamWriter, status: int, body: bytes, media: bytes, *, keep: bool
) -> None:
    head = [
        b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"")),
        b"Content-Type: " + media,
        b"Content-Length: %d" % len(body),
        b"Cache-Control: no-store",
    ]
    if not keep:
        head.append(b"Connection: close")
    client.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await client.drain()


def _reasons() -> dict[int, bytes]:
    from http import HTTPStatus

    return {s.value: s.phrase.encode() for s in HTTPStatus}


_REASONS = _reasons()
