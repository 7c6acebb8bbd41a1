"""/api/v1/audit: who did what, filterable; and the history exported with its hash chain, so a
downloaded file can be verified offline (`rivetr audit verify --file`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, PermissionDeniedException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.adapters.eventstore.export import export_lines, recorded_form
from rivetr.bootstrap import Services
from rivetr.domain.access import Actor
from rivetr.projections.audit import AuditEntry, AuditQuery
from rivetr.service.reactors.hub import AppResolver, StreamFilter
from rivetr.web.api.apps import readable_app
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
EXPORT_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


def _time(value: str | None) -> str | None:
    try:
        return recorded_form(value) if value is not None else None
    except ValueError as exc:
        raise ClientException(str(exc)) from None


def _readable_teams(actor: Actor) -> frozenset[str] | None:
    teams = actor.readable_teams()
    if teams is not None and not teams:
        raise PermissionDeniedException("reading the audit history needs the read permission")
    return teams


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/")
    async def entries(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        since: Since = None,
        until: Until = None,
        by: Annotated[str | None, QueryParameter(name="actor", description="e.g. user:ann")] = None,
        app: FromQuery[str | None] = None,
        event_type: Annotated[str | None, QueryParameter(name="type")] = None,
        before: Annotated[int | None, bounded("the next page", ge=1)] = None,
        limit: Annotated[int, bounded("at most this many", ge=1, le=500)] = 50,
    ) -> list[AuditEntry]:
        """Newest first; pass the last entry's position as `before` for the next page."""
        teams = _readable_teams(actor)
        app_id = (await readable_app(services, actor, app)).id if app is not None else None
        query = AuditQuery(
            actor=by,
            app_id=app_id,
            type=event_type,
            since=_time(since),
            until=_time(until),
            before=before,
            teams=teams,
            instance=actor.reads_instance_events(),
            limit=limit,
        )
        return await services.read.audit.search(query)

    @get("/export", opt={MEDIA_TYPES: tuple(EXPORT_MEDIA.values())})
    async def export(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        since: Since = None,
        until: Until = None,
        app: FromQuery[str | None] = None,
        format: FromQuery[Literal["jsonl", "csv"]] = "jsonl",
    ) -> Stream:
        """The events, oldest first, each with its hash-chain fields (`prev_hash`, `hash`),
        streamed. A time range is contiguous and verifies as a chain; an export for one app, or
        by someone who reads only some teams, skips positions: verify it with `--filtered`."""
        teams = _readable_teams(actor)
        app_id = (await readable_app(services, actor, app)).id if app is not None else None
        resolver = AppResolver(services.read)
        instance = actor.reads_instance_events()

        readable = StreamFilter(teams=teams, instance=instance)

        async def keep(event: RecordedEvent) -> bool:
            event_app, team = await resolver.app_and_team(event)
            return readable.sees_team(team) and (app_id is None or event_app == app_id)

        filtered = app is not None or teams is not None
        lines = export_lines(
            services.store,
            format,
            since=_time(since),
            until=_time(until),
            keep=keep if filtered else None,
        )

        async def body() -> AsyncIterator[bytes]:
            async for line in lines:
                yield line.encode()

        name = f"rivetr-audit{'-' + app if app else ''}.{format}"
        return Stream(
            body(),
            media_type=EXPORT_MEDIA[format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
