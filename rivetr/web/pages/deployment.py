"""The dashboard's deployment page: its steps as a timeline (how long each took, what failed)
and its log with its colours, both following live."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.deployment import IN_FLIGHT
from rivetr.domain.events import EVENT_TYPES
from rivetr.projections.timeline import timeline
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.deployments import DeploymentReads
from rivetr.web.ansi import to_html
from rivetr.web.pages.guard import csrf_of, error_page

LOG_LINES_SHOWN = 500


class DeploymentPage(Controller):
    path = "/"
    include_in_schema = False

    @get("/deployments/{deployment_id:str}")
    async def deployment_page(
        self,
        request: Request[Any, Any, Any],
        deployment_id: FromPath[str],
        actor: NamedDependency[Actor],
        app_reads: NamedDependency[AppReads],
        deployment_reads: NamedDependency[DeploymentReads],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        found = await deployment_reads.find(actor, deployment_id)
        if found is None:
            message = f"No deployment {deployment_id!r}."
            return error_page(engine, message, actor=actor, request=request)
        app = await app_reads.by_id(found.app_id) if found.app_id else None
        steps = await deployment_reads.steps(found)
        log, count = deployment_reads.log_tail_counted(found, LOG_LINES_SHOWN)
        after = steps[-1].position if steps else 0
        return Template(
            "deployment.html",
            context={
                "actor": actor,
                "engine": engine,
                "deployment": found,
                "in_flight": IN_FLIGHT,
                "app": app,
                "steps": timeline(steps),
                "log": [to_html(line) for line in log],
                "log_lines": count,
                # the events that refresh its live parts, from the position it was rendered
                # at, so nothing that happens meanwhile is missed
                "live_url": f"/api/v1/events/stream?stream=deployment-{deployment_id}"
                f"&after={after}",
                "event_types": sorted(EVENT_TYPES),
                "csrf_token": csrf_of(request),
            },
        )
