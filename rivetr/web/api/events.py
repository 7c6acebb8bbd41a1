"""/api/v1/events/stream: the event log as server-sent events, live, resumable, filterable."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromQuery, QueryParameter
from litestar.types import ASGIApp

from rivetr.config import Settings
from rivetr.domain.access import Actor
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.audit import AuditReads, readable_places
from rivetr.service.queries.projects import ProjectReads
from rivetr.service.queries.stacks import StackReads
from rivetr.service.reactors.hub import QUEUE_LIMIT, EventHub, StreamFilter
from rivetr.web.openapi import EVENT_STREAM
from rivetr.web.params import bounded, last_event_id
from rivetr.web.pushed_stream import PushedEventStream
from rivetr.web.stopping import stopping_of


@get("/events/stream", tags=["events"], media_type=EVENT_STREAM)
async def event_stream(
    request: Request[Any, Any, Any],
    app_reads: NamedDependency[AppReads],
    audit_reads: NamedDependency[AuditReads],
    hub: NamedDependency[EventHub],
    project_reads: NamedDependency[ProjectReads],
    settings: NamedDependency[Settings],
    stack_reads: NamedDependency[StackReads],
    actor: NamedDependency[Actor],
    app: FromQuery[str | None] = None,
    stream: FromQuery[str | None] = None,
    types: Annotated[
        str | None,
        QueryParameter(
            name="type",
            description="event types, comma-separated; a trailing * takes a prefix (deployment.*)",
        ),
    ] = None,
    after: Annotated[
        int | None, bounded("start after this position (0: the whole log); default: now")
    ] = None,
    project: Annotated[
        str | None,
        QueryParameter(
            description="the events of the apps in a project now, and the project's own:"
            " team/project, or a project's slug in every team you read"
        ),
    ] = None,
    environment: Annotated[
        str | None,
        QueryParameter(
            description="only those of one environment: of the project given, or of every"
            " project you read that has one so named"
        ),
    ] = None,
    stack: Annotated[
        str | None,
        QueryParameter(description="the events of one compose stack (its id): its releases' too"),
    ] = None,
) -> ASGIApp:
    """Each message is one event: `id` its log position, `event` its type, `data` its JSON
    (sealed values shown as "sealed"). A reconnecting client's `Last-Event-ID` resumes right
    after it, with no gap and no duplicate. A comment every `sse_heartbeat_s` keeps idle
    connections open; a client more than 1,000 events behind is disconnected, and resumes."""
    places = readable_places(actor, "reading events needs the read permission in a team")
    app_id = (await app_reads.readable(actor, app)).id if app is not None else None
    if stack is not None:
        if app_id is not None:
            raise ClientException("follow an app or a stack, not both")
        app_id = (await stack_reads.one(actor, stack)).stack_id  # a resource's id, as an app's
    place = None
    if project is not None or environment is not None:
        place = await project_reads.following(actor, project, environment)
    wanted = StreamFilter(
        app=app_id,
        stream=stream,
        types=tuple(t.strip() for t in (types or "").split(",") if t.strip()),
        teams=places.team_names() if places is not None else None,
        instance=actor.reads_instance_events(),
        place=place,
        places=places,
        resource_projects=await audit_reads.resource_projects(places),
    )
    resume = last_event_id(request, "a log position")
    after = resume if resume is not None else after
    head = await audit_reads.head()
    if after is not None and after > head:
        # a reader "after" the end would wait there, and take the idle hub's place with it
        raise ClientException(f"the log ends at position {head}: there is no {after} yet")
    return PushedEventStream(
        hub,
        wanted,
        after,
        heartbeat_s=settings.sse_heartbeat_s,
        limit=QUEUE_LIMIT,
        stopping=stopping_of(request),
    )
