"""/metrics on an address of its own (`metrics_listen`), for a scraper on loopback or a private
network, with no token: a few lines of asyncio that answer GET /metrics and nothing else, so
that the API's address need not be reachable from the scraper, nor this one from the world."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

HEAD_TIMEOUT_S = 10.0  # for the request's head: a scraper sends it at once
MAX_HEAD = 8192
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


async def serve_metrics(
    host: str, port: int, render: Callable[[], Awaitable[str]]
) -> asyncio.Server:
    """Listen on host:port; each connection gets one answer, then is closed."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            writer.write(await _respond(head, render))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # not HTTP, too large, or too slow: closed without a word
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port, limit=MAX_HEAD)


async def _respond(head: bytes, render: Callable[[], Awaitable[str]]) -> bytes:
    method, _, rest = head.partition(b" ")
    path = rest.partition(b" ")[0].partition(b"?")[0]
    if path != b"/metrics":
        return _answer(404, b"Not Found", b"text/plain", b"only /metrics is served here\n")
    if method not in (b"GET", b"HEAD"):
        return _answer(405, b"Method Not Allowed", b"text/plain", b"GET /metrics\n", b"GET, HEAD")
    try:
        body = (await render()).encode()
    except Exception:
        log.exception("the metrics could not be read")
        return _answer(500, b"Internal Server Error", b"text/plain", b"the error was logged\n")
    return _answer(200, b"OK", CONTENT_TYPE, b"" if method == b"HEAD" else body, length=len(body))


def _answer(
    status: int,
    reason: bytes,
    content_type: bytes,
    body: bytes,
    allow: bytes | None = None,
    length: int | None = None,
) -> bytes:
    lines = [
        b"HTTP/1.1 %d %s" % (status, reason),
        b"Content-Type: " + content_type,
        b"Content-Length: %d" % (len(body) if length is None else length),
        b"Connection: close",
    ]
    if allow is not None:
        lines.append(b"Allow: " + allow)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
