"""The dashboard's apps: the home page (every app the reader sees, with its live and latest
deployment, and recent activity) and one app's page (settings, deployments as timelines,
resources, output, webhook deliveries, certificates), now or as it was at a point in time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable, LogLine
from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.config import Settings
from rivetr.domain.access import Actor, Permission
from rivetr.domain.deployment import SERVED
from rivetr.domain.events import EVENT_TYPES
from rivetr.projections.timeline import timeline
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.audit import AuditReads
from rivetr.service.queries.deployments import DeploymentReads
from rivetr.service.queries.history import HistoryReads
from rivetr.service.queries.jobs import JobOwner, JobReads
from rivetr.service.queries.projects import ProjectReads
from rivetr.service.queries.refusals import Absent
from rivetr.service.queries.runtime_logs import NoLiveContainer, RuntimeLogs
from rivetr.service.reactors.resources import ResourceSampler
from rivetr.web.ansi import to_html
from rivetr.web.charts import sparkline
from rivetr.web.pages.app_scale import copies_context
from rivetr.web.pages.guard import Layout, csrf_of
from rivetr.web.pages.history import app_then_page
from rivetr.web.pages.visit import visit_links
from rivetr.web.params import whole_number

_APP_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
DEPLOYMENTS_SHOWN = 20  # per page of an app's deployments
RUNTIME_LINES_SHOWN = 200  # of the live container's output, on its app's page


class AppPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        app_reads: NamedDependency[AppReads],
        deployment_reads: NamedDependency[DeploymentReads],
        audit_reads: NamedDependency[AuditReads],
        project_reads: NamedDependency[ProjectReads],
        settings: NamedDependency[Settings],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        reads = HomeReads(app_reads, deployment_reads, audit_reads, project_reads, settings)
        context = await reads.context(request, actor, engine)
        deleted = request.query_params.get("deleted", "")
        if _APP_NAME.fullmatch(deleted):  # the redirect's; nothing else is said in our name
            context["banner"] = f"The application {deleted} was deleted, with its history kept."
        return Template("index.html", context=context)

    @get("/apps/{name:str}")
    async def app_page(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        actor: NamedDependency[Actor],
        app_reads: NamedDependency[AppReads],
        deployment_reads: NamedDependency[DeploymentReads],
        audit_reads: NamedDependency[AuditReads],
        history: NamedDependency[HistoryReads],
        resources: NamedDependency[ResourceSampler],
        runtime_logs: NamedDependency[RuntimeLogs],
        job_reads: NamedDependency[JobReads],
        settings: NamedDependency[Settings],
        engine: NamedDependency[EngineMonitor],
    ) -> Template:
        """One app: its settings, deployments, scheduled jobs and webhook deliveries."""
        layout = Layout(request, actor, engine)
        at = request.query_params.get("at", "").strip()
        if at:
            return await app_then_page(history, app_reads, layout, name, at)
        try:
            app = await app_reads.readable(actor, name)
        except Absent:
            return layout.error(f"No application named {name!r}.")
        head = await audit_reads.head()
        older = whole_number(request.query_params.get("older")) or 0  # skipped: a later page
        shown = await deployment_reads.listed(app, limit=DEPLOYMENTS_SHOWN + 1, offset=older)
        steps = await deployment_reads.timeline(app.id, DEPLOYMENTS_SHOWN, offset=older)
        samples = resources.of(app.id)
        certificates = await app_reads.certificates_of(app)
        output: list[LogLine] = []
        problem: str | None = None
        if not request.headers.get("x-rivetr-refresh"):  # a live refresh: it follows by itself
            output, problem = await _runtime_output(runtime_logs, app.id)
        release = await deployment_reads.release(app.id)
        copies = await copies_context(app, release, steps, deployment_reads)
        return Template(
            "app.html",
            context=copies
            | {
                "actor": actor,
                "engine": engine,
                "app": app,
                "deployments": shown[:DEPLOYMENTS_SHOWN],
                "older": older,
                "has_older": len(shown) > DEPLOYMENTS_SHOWN,
                "page_size": DEPLOYMENTS_SHOWN,
                "timelines": {d: timeline(s) for d, s in steps.items()},
                "served": SERVED,
                "cpu": sparkline([s.cpu_percent for s in samples], floor=5.0),
                "memory": sparkline([s.memory_mb for s in samples], floor=16.0),
                "sampled": samples[-1] if samples else None,
                "refresh_s": settings.resources_interval_s,
                "release": release,
                "runtime_log": [to_html(line.text) for line in output],
                "runtime_after": output[-1].at if output else None,
                "runtime_problem": problem,
                "deliveries": await app_reads.deliveries_of(app, limit=20),
                "pending_previews": await app_reads.pending_previews_of(app),
                "counterparts": await app_reads.counterparts_of(app),
                "certificates": certificates,
                "jobs": await job_reads.recent(actor, JobOwner(app=app.name)),
                "visits": visit_links(app.domains, certificates, settings),
                "csrf_token": csrf_of(request),
                "live_url": f"/api/v1/events/stream?app={name}&after={head}",
                "event_types": sorted(EVENT_TYPES),
            },
        )


class HomeReads:
    """What the home page shows: also the page a refused create form is shown on again."""

    def __init__(
        self,
        app_reads: AppReads,
        deployment_reads: DeploymentReads,
        audit_reads: AuditReads,
        project_reads: ProjectReads,
        settings: Settings,
    ) -> None:
        self.app_reads = app_reads
        self.deployment_reads = deployment_reads
        self.audit_reads = audit_reads
        self.project_reads = project_reads
        self.settings = settings

    async def context(
        self, request: Request[Any, Any, Any], actor: Actor, engine: EngineMonitor
    ) -> dict[str, Any]:
        latest, live = await self.deployment_reads.latest_and_live()
        apps = await self.app_reads.visible(actor)
        visits = {
            app.id: visit_links(
                app.domains, await self.app_reads.certificates_of(app), self.settings
            )
            for app in apps
            if app.domains
        }
        projects = await self.project_reads.creatable_in(actor)
        return {
            "actor": actor,
            "engine": engine,
            "apps": apps,
            "live": live,
            "latest": latest,
            "visits": visits,
            "activity": await self.audit_reads.recent(actor, 20),
            "csrf_token": csrf_of(request),
            "teams": creating_teams(actor),
            # the create form's choices of where the app lives (the team's default/production
            # unless chosen); the service refuses a project or environment its team lacks
            "projects": _options(p.project for p in projects),
            "environments": _options(e for p in projects for e in p.environments),
            "form": {},
            "problems": {},
            "live_url": f"/api/v1/events/stream?after={await self.audit_reads.head()}",
            "event_types": sorted(EVENT_TYPES),
        }


def creating_teams(actor: Actor) -> list[tuple[str, str]]:
    """The teams the actor may create an app in, as a select's options."""
    return [(t, t) for t in sorted(actor.teams) if actor.can(Permission.MANAGE_APPS, t)]


def _options(values: Iterable[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in dict.fromkeys(values)]


async def _runtime_output(logs: RuntimeLogs, app_id: str) -> tuple[list[LogLine], str | None]:
    """The live container's last lines for the page, or why there are none."""
    try:
        lines = await logs.lines(app_id, tail=RUNTIME_LINES_SHOWN)
        return [line async for line in lines], None
    except NoLiveContainer:
        return [], "No release is running."
    except EngineUnavailable as exc:
        return [], f"The container engine is unavailable: {exc}"
    except ContainerError as exc:
        return [], f"The engine no longer has the container: {exc}"
