"""A compose stack's pages: the stack (its source, routes, variable names, the live release
with each service, Deploy, every release with Roll back on those that served, and its webhook
deliveries), a release's timeline service by service, and a service's logs with their
colours. Both the stack and the release follow live through the stack's events; the forms
are elsewhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from rivetr.adapters.runtime.base import EngineUnavailable
from rivetr.config import Settings
from rivetr.domain.access import Permission
from rivetr.domain.database_commands import ResourceId
from rivetr.domain.errors import NotFound
from rivetr.domain.events import EVENT_TYPES
from rivetr.domain.stack_commands import ServiceName
from rivetr.domain.stack_releases import SERVED
from rivetr.projections.stacks import StackStepView, StackView
from rivetr.service.queries.audit import AuditReads
from rivetr.service.queries.stacks import StackReads, StackRelease
from rivetr.web.ansi import to_html
from rivetr.web.pages.databases import age
from rivetr.web.pages.forms import Shown
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.visit import visit_links

LOG_LINES_SHOWN = 500


def short_image(image: str | None) -> str:
    """An image id as `docker images` shows it: twelve hex digits, without `sha256:`."""
    return (image or "").removeprefix("sha256:")[:12]


def by_service(found: StackRelease) -> list[tuple[str | None, list[StackStepView]]]:
    """A release's steps grouped: the release's own first (None), then each service's, in the
    order its services start."""
    order: list[str | None] = [None, *(s.service for s in found.services)]
    grouped: dict[str | None, list[StackStepView]] = {name: [] for name in order}
    for step in found.steps:
        grouped.setdefault(step.service, []).append(step)
    return [(name, steps) for name, steps in grouped.items() if steps or name is not None]


@dataclass
class StackPage:
    """A stack's page, as it is or with a form's answer (a refusal, notes)."""

    layout: Layout
    stack_reads: StackReads
    stack_id: str
    notes: list[str] = field(default_factory=list)

    async def found(self) -> StackView | Template:
        """The stack, if the reader reads it; else the page saying there is none."""
        try:
            stack_id = msgspec.convert(self.stack_id, ResourceId)
            return await self.stack_reads.one(self.layout.actor, stack_id)
        except (msgspec.ValidationError, NotFound):
            return self.layout.error(f"No stack {self.stack_id!r}.")

    def may(self, stack: StackView) -> dict[str, bool]:
        """Which of the page's buttons and forms the reader may use (the service decides)."""
        actor = self.layout.actor
        return {
            "deploys": actor.can(Permission.DEPLOY, stack.team, stack.project),
            "edits": actor.can(Permission.EDIT_APPS, stack.team, stack.project),
            "manages": actor.can(Permission.MANAGE_APPS, stack.team, stack.project),
        }

    async def shown(
        self, audit_reads: AuditReads, settings: Settings, shown: Shown | None = None
    ) -> Template:
        stack = await self.found()
        if isinstance(stack, Template):
            return stack
        shown = shown or Shown()
        actor = self.layout.actor
        live = None
        if stack.live_release_id is not None:
            live = await self.stack_reads.release(actor, stack.stack_id, stack.live_release_id)
        domains = [d for route in stack.routes for d in route.domains]
        certificates = await self.stack_reads.certificates(actor, stack.stack_id)
        return self.layout.page(
            "stack.html",
            shown.status,
            stack=stack,
            live=live,
            releases=await self.stack_reads.releases(actor, stack.stack_id),
            deliveries=await self.stack_reads.deliveries(actor, stack.stack_id, limit=20),
            jobs=await self.stack_reads.jobs(actor, stack.stack_id),
            served=SERVED,
            short=short_image,
            ages=age,
            visits=dict(visit_links(domains, certificates, settings)),
            certificates=certificates,
            shown=shown,
            notes=self.notes,
            live_url=await _live_url(audit_reads, stack.stack_id),
            event_types=sorted(EVENT_TYPES),
            **self.may(stack),
        )


async def _live_url(audit_reads: AuditReads, stack_id: str) -> str:
    # from the position the page was drawn at, so nothing that happens meanwhile is missed
    return f"/api/v1/events/stream?stack={stack_id}&after={await audit_reads.head()}"


class StackPageViews(Controller):
    path = "/stacks/{stack_id:str}"
    include_in_schema = False

    @get("/")
    async def stack_page(
        self,
        stack_id: FromPath[str],
        layout: NamedDependency[Layout],
        stack_reads: NamedDependency[StackReads],
        audit_reads: NamedDependency[AuditReads],
        settings: NamedDependency[Settings],
    ) -> Template:
        return await StackPage(layout, stack_reads, stack_id).shown(audit_reads, settings)

    @get("/releases/{release_id:str}")
    async def release_page(
        self,
        stack_id: FromPath[str],
        release_id: FromPath[str],
        layout: NamedDependency[Layout],
        stack_reads: NamedDependency[StackReads],
        audit_reads: NamedDependency[AuditReads],
    ) -> Template:
        """A release: what it is, why it failed, and its steps service by service."""
        page = StackPage(layout, stack_reads, stack_id)
        stack = await page.found()
        if isinstance(stack, Template):
            return stack
        try:
            release_id = msgspec.convert(release_id, ResourceId)
            found = await stack_reads.release(layout.actor, stack.stack_id, release_id)
        except (msgspec.ValidationError, NotFound):
            return layout.error(f"Stack {stack.name} has no release {release_id!r}.")
        return layout.page(
            "stack_release.html",
            stack=stack,
            found=found,
            release=found.release,
            groups=by_service(found),
            services={s.service: s for s in found.services},
            served=SERVED,
            short=short_image,
            ages=age,
            live_url=await _live_url(audit_reads, stack.stack_id),
            event_types=sorted(EVENT_TYPES),
            **page.may(stack),
        )

    @get("/services/{service:str}/logs")
    async def service_logs_page(
        self,
        stack_id: FromPath[str],
        service: FromPath[str],
        layout: NamedDependency[Layout],
        stack_reads: NamedDependency[StackReads],
    ) -> Template:
        """A service's last lines, from the container of the release that serves (or the
        newest that ran it), or why there are none."""
        stack = await StackPage(layout, stack_reads, stack_id).found()
        if isinstance(stack, Template):
            return stack
        try:
            service = msgspec.convert(service, ServiceName)
        except msgspec.ValidationError:
            return layout.error(f"Stack {stack.name} has no service {service!r}.")
        context: dict[str, Any] = {"stack": stack, "service": service, "lines": []}
        try:
            logs = await stack_reads.logs(layout.actor, stack.stack_id, service, LOG_LINES_SHOWN)
            context |= {
                "container": logs.container,
                "lines": [to_html(line) for line in logs.output.splitlines()],
            }
        except EngineUnavailable as exc:
            context["problem"] = f"The container engine is unavailable: {exc}."
        except NotFound as exc:
            context["problem"] = f"No output to show: {exc}."
        return layout.page("stack_logs.html", **context)


__all__ = ["StackPage", "StackPageViews", "by_service", "short_image"]
