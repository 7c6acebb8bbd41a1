"""HTTP/1.1 wire pieces for the proxy: forwarded heads, chunk framing, the proxy's own pages.

Parsing is `httptools` (llhttp, the parser in Node.js), driven by the connection protocols."""

from __future__ import annotations

import html
from http import HTTPStatus
from typing import Any

MAX_HEAD = 64 * 1024  # request or response head (line and headers) larger than this: refused
READ_SIZE = 64 * 1024  # a socket read's most, for the reasons read_in_pieces gives


def read_in_pieces(transport: Any) -> None:
    """Read `transport`'s socket READ_SIZE at a time. asyncio reads into a new 256 KiB bytes
    each time: above glibc's mmap threshold (128 KiB), so every read of a large body maps fresh
    pages and faults each one in. 64 KiB comes from the heap: 1 MiB answers went 1.7 x faster
    through the proxy (benchmarks/RESULTS.md, issue 23). uvloop and TLS transports read into
    buffers of their own and have no such setting."""
    if hasattr(transport, "max_size"):
        transport.max_size = READ_SIZE


LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy sets itself
DROPPED = frozenset(
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
# made once: every forwarded answer begins with one
STATUS_LINES = {s.value: b"HTTP/1.1 %d %s" % (s.value, s.phrase.encode()) for s in HTTPStatus}


class BadMessage(Exception):
    """What came in is not HTTP/1.x we can forward."""


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def status_line(status: int) -> bytes:
    return STATUS_LINES.get(status) or b"HTTP/1.1 %d " % status


def forwarded_head(headers: list[tuple[bytes, bytes]]) -> tuple[list[bytes], bool, bool]:
    """An upstream's answer head as it goes on: its header lines less the hop-by-hop ones,
    and whether it had a Content-Length and a Transfer-Encoding. One pass, each name lowered
    once: it runs for every answer the proxy forwards."""
    lines: list[bytes] = []
    length = chunked = False
    for name, value in headers:
        lower = name.lower()
        if lower in DROPPED:
            if lower == b"transfer-encoding":
                chunked = True
        else:
            if lower == b"content-length":
                length = True
            lines.append(name + b": " + value)
    return lines, length, chunked


def response_head(
    status: int,
    headers: list[tuple[bytes, bytes]],
    *,
    chunked: bool = False,
    keep: bool = True,
    upgrade: bytes | None = None,
) -> bytes:
    lines = forwarded_head(headers)[0]
    return head_bytes(status, lines, chunked=chunked, keep=keep, upgrade=upgrade)


def head_bytes(
    status: int,
    lines: list[bytes],
    *,
    chunked: bool = False,
    keep: bool = True,
    upgrade: bytes | None = None,
) -> bytes:
    """The head of an answer with `lines` (as `forwarded_head` gives them) and the framing
    and connection lines the proxy sets itself."""
    if upgrade is not None:
        lines += [b"Connection: Upgrade", b"Upgrade: " + upgrade]
    else:
        if chunked:
            lines.append(b"Transfer-Encoding: chunked")
        if not keep:
            lines.append(b"Connection: close")
    return b"\r\n".join((status_line(status), *lines)) + b"\r\n\r\n"


def redirect(location: bytes, *, keep: bool) -> bytes:
    head = [b"HTTP/1.1 308 Permanent Redirect", b"Location: " + location, b"Content-Length: 0"]
    if not keep:
        head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n"


def page(status: int, title: str, message: str, *, keep: bool = False) -> bytes:
    """A small HTML page of the proxy's own; `message` is HTML, its parts already escaped."""
    body = (
        f"<!doctype html><html><head><title>{status} {title}</title></head>"
        f"<body style='font-family:system-ui;margin:3rem'><h1>{title}</h1><p>{message}</p>"
        "<p style='color:#5b6672'>Rivetr</p></body></html>"
    ).encode()
    return answer(status, body, b"text/html; charset=utf-8", keep=keep)


def answer(status: int, body: bytes, media: bytes, *, keep: bool) -> bytes:
    head = [
        status_line(status),
        b"Content-Type: " + media,
        b"Content-Length: %d" % len(body),
        b"Cache-Control: no-store",
    ]
    if not keep:
        head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def bad_gateway(app: str, deployment_id: str) -> bytes:
    return page(
        502,
        "Bad gateway",
        f"The application <b>{html.escape(app)}</b> is not answering right now"
        f" (release {html.escape(deployment_id)}).",
    )


def gateway_timeout(app: str) -> bytes:
    return page(504, "Gateway timeout", f"{html.escape(app)} did not answer.")
