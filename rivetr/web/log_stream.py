"""A log file followed as server-sent events, one per line (`id` its line number, `data`
{"line", "source", "text"}), live while what writes it runs, then a last `end` event with how it
ended; `Last-Event-ID` (or `after`) resumes after a line. What a deployment's log and a job
run's log are both streamed by."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import anyio
import msgspec
from litestar import Request
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from rivetr.web.params import last_event_id
from rivetr.web.stopping import Stopping

LOG_POLL_S = 0.5  # how often a follower looks for new lines while its writer runs


class LogLine(msgspec.Struct):
    line: int  # 1-based: the message id, and what Last-Event-ID resumes after
    source: str  # git, build, health, app, job, rivetr
    text: str  # as written, ANSI colour codes included


def first_line(
    request: Request[Any, Any, Any], start: Literal["start", "end"], after: int | None
) -> int | None:
    """How many lines to skip: those a resumed stream saw, or `after`; None: all there are."""
    resume = last_event_id(request, "a line number")
    if resume is not None:
        return resume
    if after is not None:
        return after
    return None if start == "end" else 0


def follow(
    skipped: tuple[int, int],
    read_from: Callable[[int], Awaitable[tuple[list[str], int]]],
    ended: Callable[[], Awaitable[str | None]],
    heartbeat_s: float,
    stopping: Stopping | None = None,
) -> ServerSentEvent:
    """The lines after `skipped` (lines, byte offset) as they are written; `ended()` says how
    the writer ended (its last status), None while it runs. When the server stops, the stream
    ends with no `end` event: the writer has not ended, and the client resumes."""
    line, offset = skipped

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        nonlocal line, offset
        quiet = 0.0
        while True:
            lines, offset = await read_from(offset)
            for text in lines:
                line += 1
                source, _, rest = text.partition("| ")
                payload = msgspec.json.encode(LogLine(line, source, rest)).decode()
                yield ServerSentEventMessage(data=payload, event="log", id=line)
            if lines:
                quiet = 0.0
                continue
            how = await ended()
            if how is not None:
                yield ServerSentEventMessage(data=how, event="end")
                return
            if stopping is not None and stopping.is_set():
                return
            pause = min(LOG_POLL_S, heartbeat_s)  # a heartbeat asked oftener is kept to
            await anyio.sleep(pause)
            quiet += pause
            if quiet >= heartbeat_s:
                quiet = 0.0
                yield ServerSentEventMessage(comment="keep-alive")

    return ServerSentEvent(messages(), headers={"Cache-Control": "no-store"})
