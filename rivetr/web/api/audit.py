"""/api/v1/audit: who did what, filterable; and the history exported with its hash chain, so a
downloaded file can be verified offline (`rivetr audit verify --file`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from rivetr.domain.access import Actor
from rivetr.projections.audit import AuditEntry
from rivetr.service.queries.audit import AuditFilter, AuditReads
from rivetr.web.openapi import MEDIA_TYPES
from rivetr.web.params import bounded

Since = Annotated[
    str | None,
    QueryParameter(
        name="from", format="date-time", description="recorded at or after (ISO 8601; UTC if bare)"
    ),
]
Until = Annotated[
    str | None,
    QueryParameter(name="to", format="date-time", description="recorded before (ISO 8601)"),
]
Project = Annotated[
    str | None,
    QueryParameter(
        description="the events in a project, as it was when each happened: team/project,"
        " or a project's slug in every team you read"
    ),
]
Environment = Annotated[
    str | None,
    QueryParameter(
        description="the events in one environment: of the project given, or of every project"
        " you read that has one so named"
    ),
]
EXPORT_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/")
    async def entries(
        self,
        audit_reads: NamedDependency[AuditReads],
        actor: NamedDependency[Actor],
        since: Since = None,
        until: Until = None,
        by: Annotated[str | None, QueryParameter(name="actor", description="e.g. user:ann")] = None,
        app: FromQuery[str | None] = None,
        event_type: Annotated[str | None, QueryParameter(name="type")] = None,
        before: Annotated[int | None, bounded("the next page", ge=1)] = None,
        limit: Annotated[int, bounded("at most this many", ge=1, le=500)] = 50,
        project: Project = None,
        environment: Environment = None,
    ) -> list[AuditEntry]:
        """Newest first; pass the last entry's position as `before` for the next page."""
        wanted = AuditFilter(
            actor=by,
            app=app,
            type=event_type,
            since=since,
            until=until,
            before=before,
            project=project,
            environment=environment,
            limit=limit,
        )
        return await audit_reads.entries(await audit_reads.query(actor, wanted))

    @get("/export", opt={MEDIA_TYPES: tuple(EXPORT_MEDIA.values())})
    async def export(
        self,
        audit_reads: NamedDependency[AuditReads],
        actor: NamedDependency[Actor],
        since: Since = None,
        until: Until = None,
        app: FromQuery[str | None] = None,
        by: Annotated[str | None, QueryParameter(name="actor", description="e.g. user:ann")] = None,
        event_type: Annotated[
            str | None, QueryParameter(name="type", description="a type, or a prefix and *")
        ] = None,
        format: FromQuery[Literal["jsonl", "csv"]] = "jsonl",
        project: Project = None,
        environment: Environment = None,
    ) -> Stream:
        """The events, oldest first, each with its hash-chain fields (`prev_hash`, `hash`),
        streamed, filtered as the history is. A time range is contiguous and verifies as a
        chain; an export for one app, actor, type or project, or by someone who reads only
        some teams, skips positions: verify it with `--filtered`."""
        wanted = AuditFilter(
            actor=by,
            app=app,
            type=event_type,
            since=since,
            until=until,
            project=project,
            environment=environment,
        )
        lines = await audit_reads.export(actor, format, wanted)

        async def body() -> AsyncIterator[bytes]:
            async for line in lines:
                yield line.encode()

        name = f"rivetr-audit{'-' + app if app else ''}.{format}"
        return Stream(
            body(),
            media_type=EXPORT_MEDIA[format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
