"""HTTP/1.1 message reading on asyncio streams, with `httptools` (llhttp, the parser in Node.js)
doing the parsing: one request or response at a time, its body handed on chunk by chunk as it
arrives, so nothing is ever buffered whole."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import httptools
import msgspec

READ_SIZE = 65536
MAX_HEAD = 64 * 1024  # request or response head (line and headers) larger than this: refused


class BadMessage(Exception):
    """What came in is not HTTP/1.x we can forward."""


class Head(msgspec.Struct, frozen=True):
    """One message's start line and headers, as they were when its head was complete (the
    parser may already be on the next message of the same read)."""

    url: bytes
    headers: list[tuple[bytes, bytes]]
    method: bytes
    status: int
    version: str
    keep_alive: bool


_NO_HEAD = Head(b"", [], b"", 0, "1.1", False)


class _Parsed:
    """Collects the parser's callbacks as a queue of steps for one message after another."""

    def __init__(self) -> None:
        self.parser: Any = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.steps: deque[tuple[str, Any]] = deque()
        self.head_size = 0

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.head_size = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        self._grow(len(name) + len(value))

    def on_status(self, status: bytes) -> None:
        self._grow(len(status))

    def on_headers_complete(self) -> None:
        parser = self.parser
        request = isinstance(parser, httptools.HttpRequestParser)
        head = Head(
            self.url,
            self.headers,
            bytes(parser.get_method()) if request else b"",
            0 if request else int(parser.get_status_code()),
            str(parser.get_http_version()),
            bool(parser.should_keep_alive()),
        )
        self.steps.append(("head", head))

    def on_body(self, body: bytes) -> None:
        self.steps.append(("body", body))

    def on_message_complete(self) -> None:
        self.steps.append(("end", b""))

    def _grow(self, size: int) -> None:
        self.head_size += size
        if self.head_size > MAX_HEAD:
            raise BadMessage("the message head is too large")


class MessageReader:
    """Reads messages from one stream: `head()` waits for the next message's head, then
    `body()` yields its body chunks until the message ends."""

    def __init__(self, reader: asyncio.StreamReader, *, response: bool = False) -> None:
        self.reader = reader
        self.parsed = _Parsed()
        self._parser_type: Any = (
            httptools.HttpResponseParser if response else httptools.HttpRequestParser
        )
        self.parser = self.parsed.parser = self._parser_type(self.parsed)
        self.leftover = b""  # bytes after an upgrade: they belong to the new protocol
        self.upgraded = False
        self.eof = False
        self.current = _NO_HEAD

    async def _step(self) -> tuple[str, Any] | None:
        while not self.parsed.steps:
            if self.eof or self.upgraded:
                return None
            data = await self.reader.read(READ_SIZE)
            if not data:
                self.eof = True
                return None
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as upgrade:
                self.upgraded = True
                self.leftover = data[upgrade.args[0] :]
            except httptools.HttpParserError as exc:
                raise BadMessage(str(exc) or "malformed HTTP") from None
        return self.parsed.steps.popleft()

    async def head(self) -> bool:
        """Wait for the next message's head; False when the peer closed first."""
        step = await self._step()
        if step is None:
            return False
        if step[0] != "head":
            raise BadMessage(f"expected a message head, got {step[0]}")
        self.current = step[1]
        return True

    async def body(self) -> Any:
        """The current message's body chunks (none for a bodiless message)."""
        while True:
            step = await self._step()
            if step is None:
                if self.upgraded or self.eof:
                    return
                continue
            kind, data = step
            if kind == "end":
                return
            if kind == "body":
                yield data

    def finish_without_body(self) -> None:
        """For a response to HEAD: its head promises a body that never comes."""
        self.parsed.steps.clear()
        self.parser = self.parsed.parser = self._parser_type(self.parsed)

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return self.current.headers

    @property
    def url(self) -> bytes:
        return self.current.url

    @property
    def method(self) -> bytes:
        return self.current.method

    @property
    def status(self) -> int:
        return self.current.status

    @property
    def version(self) -> str:
        return self.current.version

    @property
    def keep_alive(self) -> bool:
        return self.current.keep_alive

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.current.headers:
            if key.lower() == name:
                return value
        return None


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
