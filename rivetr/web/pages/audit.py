"""The dashboard's audit history: who did what, filterable by actor, app, event type, time,
project and environment, paged, exportable; the unfiltered first page takes new entries live
over the event stream. Each entry opens to its event whole."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.events import EVENT_TYPES
from rivetr.service.queries.audit import AuditFilter, AuditReads, log_time
from rivetr.service.queries.refusals import Absent, BadQuery
from rivetr.web.pages.guard import csrf_of, error_page
from rivetr.web.params import whole_number

AUDIT_PAGE = 50
AUDIT_FILTERS = ("actor", "app", "type", "from", "to", "project", "environment")


class AuditPage(Controller):
    path = "/"
    include_in_schema = False

    @get("/audit")
    async def audit_page(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        audit_reads: NamedDependency[AuditReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        params = request.query_params
        wanted = {k: params.get(k, "").strip() for k in AUDIT_FILTERS}
        problems: dict[str, str] = {}
        times: dict[str, str | None] = {}
        for name in ("from", "to"):
            try:
                times[name] = log_time(wanted[name] or None)
            except BadQuery as exc:
                problems[name], times[name] = str(exc), None
        since, until = times["from"], times["to"]
        query = await audit_reads.page_query(
            actor,
            AuditFilter(
                actor=wanted["actor"] or None,
                # the app that has the name now (one of another team shows nothing: entries
                # are filtered by the teams the reader may see)
                app=wanted["app"] or None,
                type=wanted["type"] or None,
                since=since,
                until=until,
                before=whole_number(params.get("before")),
                project=wanted["project"] or None,
                environment=wanted["environment"] or None,
                limit=AUDIT_PAGE,
            ),
        )
        entries = await audit_reads.entries(query)
        filters = {k: v for k, v in wanted.items() if v}
        older = (
            urlencode({**filters, "before": entries[-1].position})
            if len(entries) == AUDIT_PAGE
            else None
        )
        # what is shown is what is exported: a time the page could not read bounds neither
        exported = {k: v for k, v in filters.items() if k in AUDIT_FILTERS and k not in problems}
        return Template(
            "audit.html",
            context={
                "actor": actor,
                "engine": engine,
                "csrf_token": csrf_of(request),
                "entries": entries,
                "query": query,
                "raw": {
                    "since": wanted["from"],
                    "until": wanted["to"],
                    "project": wanted["project"],
                    "environment": wanted["environment"],
                },
                "problems": problems,
                "filtered": bool(filters),
                "event_families": sorted({kind.split(".")[0] for kind in EVENT_TYPES}),
                "older": older,
                "export_query": urlencode(exported),
                "live": not filters and query.before is None,
                "event_types": sorted(EVENT_TYPES),
            },
        )

    @get("/audit/events/{position:int}")
    async def event_page(
        self,
        request: Request[Any, Any, Any],
        position: FromPath[int],
        actor: NamedDependency[Actor],
        audit_reads: NamedDependency[AuditReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        try:
            event = await audit_reads.event(actor, position)
        except Absent as exc:
            return error_page(engine, str(exc), exc.status, actor=actor, request=request)
        return Template(
            "audit_event.html",
            context={
                "actor": actor,
                "engine": engine,
                "csrf_token": csrf_of(request),
                "entry": event.entry,
                "metadata": _pretty(event.metadata()),
                "body": _pretty(event.body),
            },
        )


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
