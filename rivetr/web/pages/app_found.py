"""The app a page about one app is for, or the page saying why there is none to show: absent
(or another team's, which reads the same), or not the reader's to change."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, Permission
from rivetr.domain.errors import DomainError
from rivetr.projections.apps import AppView
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.refusals import Absent
from rivetr.web.pages.forms import stale
from rivetr.web.pages.guard import Layout, error_page


async def app_or_refusal(
    app_reads: AppReads,
    engine: EngineMonitor,
    actor: Actor,
    name: str,
    permission: Permission | None = None,
    *,
    request: Request[Any, Any, Any] | None = None,
) -> AppView | Template:
    """The app named `name` if the actor may read it (and act on it with `permission`, when
    given, refused before any work as the API refuses: 403), else the error page (with the
    nav when the `request` is given)."""
    try:
        if permission is None:
            return await app_reads.readable(actor, name)
        return await app_reads.allowed(actor, name, permission)
    except Absent:
        message, status = f"No application named {name!r}.", 404
    except DomainError as exc:
        message, status = f"Not allowed: {exc}", exc.status
    return error_page(engine, message, status, actor=actor, request=request)


async def app_for(
    layout: Layout, app_reads: AppReads, name: str, permission: Permission | None = None
) -> AppView | Template:
    """The app named `name` for a signed-in page, else its error page (with the nav)."""
    actor, engine = layout.actor, layout.engine
    return await app_or_refusal(app_reads, engine, actor, name, permission, request=layout.request)


async def app_of_form(
    layout: Layout, presented: str, app_reads: AppReads, name: str, permission: Permission
) -> AppView | Response[Any]:
    """The app a form of its pages acts on, or the page saying that the form has expired
    (`presented` is not the page's CSRF token) or why the reader may not change that app."""
    if (expired := stale(layout.request, presented, layout.engine, layout.actor)) is not None:
        return expired
    return await app_for(layout, app_reads, name, permission)
