"""The app page as of a moment ("What was running at"), answered from the log. A time that cannot
be read, or one before the app existed, is said beside the form, which keeps what was typed,
with the way back to the app as it is now."""

from __future__ import annotations

from litestar.response import Template

from rivetr.domain.errors import DomainError
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.audit import log_time
from rivetr.service.queries.history import AppThen, HistoryReads
from rivetr.service.queries.refusals import Absent, BadQuery
from rivetr.web.pages.guard import Layout

EXAMPLE = "2026-11-27T09:30Z"


async def app_then_page(
    history: HistoryReads, app_reads: AppReads, layout: Layout, name: str, at: str
) -> Template:
    """The app named `name` as it was at `at` (service/queries/history.py)."""
    actor = layout.actor
    try:
        then = await history.app_then(actor, name, at)
    except BadQuery:
        problem = f"could not read {at!r} as a time; use {EXAMPLE}"
        return _asked_again(layout, name, at, problem)
    except Absent:
        try:
            now = await app_reads.readable(actor, name)
        except Absent:
            return layout.error(f"No application named {name!r}.")
        moment = log_time(at) or ""
        if now.created_at <= moment:  # the name was another team's app's then: say no more
            return _asked_again(layout, name, at, f"no application named {name!r} then")
        problem = (
            f"{name} did not exist yet at {_shown_time(moment)} UTC:"
            f" it was created {_shown_time(now.created_at)} UTC"
        )
        return _asked_again(layout, name, at, problem, status=404)
    except DomainError as exc:
        return layout.error(str(exc), exc.status)
    return _page(layout, then.name, at, then)


def _asked_again(layout: Layout, name: str, at: str, problem: str, status: int = 422) -> Template:
    return _page(layout, name, at, None, {"at": problem}, status)


def _page(
    layout: Layout,
    name: str,
    at: str,
    then: AppThen | None,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    """The page: the app as it was (`then`), or the form again with what was wrong."""
    return layout.page(
        "app_at.html", status, name=name, then=then, asked=at, problems=problems or {}
    )


def _shown_time(recorded: str) -> str:
    """A time as the log records it, as a person reads it (to the minute)."""
    return recorded[:16].replace("T", " ")
