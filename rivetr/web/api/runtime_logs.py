"""/api/v1/apps/{name}/logs: what the app's live container writes, as the engine keeps it, at
once or followed live as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException, ServiceUnavailableException
from litestar.params import FromPath, FromQuery, Parameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable, LogLine
from rivetr.config import Settings
from rivetr.domain.access import Actor
from rivetr.domain.settings import AppName
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.runtime_logs import NoLiveContainer, RuntimeLogs
from rivetr.web.heartbeats import with_heartbeats
from rivetr.web.openapi import problems
from rivetr.web.stopping import stopping_of

Tail = Annotated[int, Parameter(ge=0, le=10_000, description="how many of the last lines")]
After = Annotated[
    str | None,
    QueryParameter(
        format="date-time",
        description="only the lines after the one written at this time (a line's `at`)",
    ),
]


@get("/apps/{name:str}/logs", tags=["apps"], responses=problems(503))  # no engine
async def runtime_log(
    name: FromPath[AppName],
    app_reads: NamedDependency[AppReads],
    runtime_logs: NamedDependency[RuntimeLogs],
    actor: NamedDependency[Actor],
    tail: FromQuery[Tail] = 100,
    after: After = None,
) -> list[LogLine]:
    """The live container's stdout and stderr, interleaved, each line with the engine's time
    for it (`at`): the last `tail` lines, or every line after `after`."""
    lines = await _open(app_reads, runtime_logs, actor, name, tail=tail, after=after, follow=False)
    try:
        return [line async for line in lines]
    except ContainerError as exc:
        raise NotFoundException(f"{name}'s container is gone: {exc}") from exc


@get("/apps/{name:str}/logs/stream", tags=["apps"], responses=problems(503))
async def runtime_log_stream(
    request: Request[Any, Any, Any],
    name: FromPath[AppName],
    app_reads: NamedDependency[AppReads],
    runtime_logs: NamedDependency[RuntimeLogs],
    settings: NamedDependency[Settings],
    actor: NamedDependency[Actor],
    tail: FromQuery[Tail] = 100,
    after: After = None,
) -> ServerSentEvent:
    """The live container's output followed as it is written: a `line` event per line (`id`
    the engine's time for it, `data` {"at", "text"}, ANSI colours kept), from the last `tail`
    lines or after `after`; `Last-Event-ID` resumes after that line. An `end` event says
    the container stopped: a new release runs in a new container, so reconnect to follow
    it."""
    after = request.headers.get("last-event-id") or after
    lines = await _open(app_reads, runtime_logs, actor, name, tail=tail, after=after, follow=True)
    heartbeat = settings.sse_heartbeat_s

    stopping = stopping_of(request)

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        try:
            async for line in with_heartbeats(lines, heartbeat, stopping):
                if line is None:
                    yield ServerSentEventMessage(comment="keep-alive")
                else:
                    data = msgspec.json.encode(line).decode()
                    yield ServerSentEventMessage(data=data, event="line", id=line.at)
        except ContainerError:
            pass  # removed while followed: it has stopped, as far as the reader goes
        if stopping is None or not stopping.is_set():  # Rivetr stopping is not the container
            yield ServerSentEventMessage(data="stopped", event="end")

    return ServerSentEvent(messages(), headers={"Cache-Control": "no-store"})


async def _open(
    app_reads: AppReads,
    runtime_logs: RuntimeLogs,
    actor: Actor,
    name: str,
    *,
    tail: int,
    after: str | None,
    follow: bool,
) -> AsyncIterator[LogLine]:
    app = await app_reads.readable(actor, name)
    try:
        return await runtime_logs.lines(app.id, tail=tail, after=after, follow=follow, name=name)
    except NoLiveContainer as exc:
        raise NotFoundException(str(exc)) from exc
    except EngineUnavailable as exc:
        raise ServiceUnavailableException(f"the container engine is unavailable: {exc}") from exc
    except ValueError as exc:
        raise ClientException(f"after: {exc}") from exc
