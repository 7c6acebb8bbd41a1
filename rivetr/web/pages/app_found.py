"""The app a page about one app is for, or the page saying why there is none to show: absent
(or another team's, which reads the same), or not the reader's to change."""

from __future__ import annotations

from litestar.response import Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, Permission
from rivetr.domain.errors import DomainError
from rivetr.projections.apps import AppView
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.refusals import Absent
from rivetr.web.pages.guard import error_page


async def app_or_refusal(
    app_reads: AppReads,
    engine: EngineMonitor,
    actor: Actor,
    name: str,
    permission: Permission | None = None,
) -> AppView | Template:
    """The app named `name` if the actor may read it (and act on it with `permission`, when
    given, refused before any work as the API refuses: 403), else the error page."""
    try:
        if permission is None:
            return await app_reads.readable(actor, name)
        return await app_reads.allowed(actor, name, permission)
    except Absent:
        return error_page(engine, f"No application named {name!r}.")
    except DomainError as exc:
        return error_page(engine, f"Not allowed: {exc}", exc.status)
