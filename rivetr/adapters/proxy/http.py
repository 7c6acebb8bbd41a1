"""HTTP/1.1 message reading on asyncio streams, with `httptools` (llhttp, the parser in Node.js)
doing the parsing: one request or response at a time, its body handed on chunk by chunk as it
arrives, so nothing is ever buffered whole."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import httptools

READ_SIZE = 65536
MAX_HEAD = 64 * 1024  # request or response head (line and headers) larger than this: refused


class BadMessage(Exception):
    """What came in is not HTTP/1.x we can forward."""


class _Parsed:
    """Collects the parser's callbacks as a queue of steps for one message after another."""

    def __init__(self) -> None:
        self.parser: Any = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.steps: deque[tuple[str, bytes]] = deque()
        self.head_size = 0
        # read when the head is complete: llhttp resets them once the message ends
        self.keep_alive = False
        self.version = "1.1"
        self.method = b""
        self.status = 0

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
        self.keep_alive = bool(parser.should_keep_alive())
        self.version = str(parser.get_http_version())
        if isinstance(parser, httptools.HttpRequestParser):
            self.method = bytes(parser.get_method())
        else:
            self.status = int(parser.get_status_code())
        self.steps.append(("head", b""))

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

    async def _step(self) -> tuple[str, bytes] | None:
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
        return self.parsed.headers

    @property
    def url(self) -> bytes:
        return self.parsed.url

    @property
    def method(self) -> bytes:
        return self.parsed.method

    @property
    def status(self) -> int:
        return self.parsed.status

    @property
    def version(self) -> str:
        return self.parsed.version

    @property
    def keep_alive(self) -> bool:
        return self.parsed.keep_alive

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.parsed.headers:
            if key.lower() == name:
                return value
        return None


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
