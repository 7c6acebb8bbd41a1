"""What every dashboard form shares: the CSRF check, the service call tried with its refusal
answered, and the refusal turned into problems keyed by field (`""` for the whole form) that
`_forms.html` shows beside each field."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.response import Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor, Permission
from rivetr.domain.errors import DomainError
from rivetr.service.queries.projects import ProjectReads
from rivetr.web.auth import tokens_match
from rivetr.web.pages.guard import Layout, csrf_of, error_page

FieldProblems = dict[str, str]
Act = Callable[[], Awaitable[Response[Any]]]
Refused = Callable[[Exception], Awaitable[Response[Any]]]
_PATH = re.compile(r" - at `\$\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")


class Shown(msgspec.Struct, kw_only=True):
    """What a page of several forms shows besides itself: the form refused (its name, its
    problems and what was typed), answered with the refusal's status."""

    form: str = ""
    problems: FieldProblems = msgspec.field(default_factory=dict)
    typed: dict[str, str] = msgspec.field(default_factory=dict)
    status: int = 200


def stale(
    request: Request[Any, Any, Any],
    presented: str,
    engine: EngineMonitor,
    actor: Actor | None = None,
) -> Template | None:
    """The answer to a form without the page's CSRF token, or None when it has it."""
    expected = csrf_of(request)
    if expected is None or not tokens_match(presented, expected):
        message = "This form has expired: load the page again."
        return error_page(engine, message, 403, actor=actor, request=request)
    return None


async def submitted(layout: Layout, presented: str, act: Act, refused: Refused) -> Response[Any]:
    """A signed-in page's form: without the page's CSRF token (`presented`), the page saying it
    expired; else what `act` answers (a redirect, or the page with what it made), or, when the
    service or the decoding of what was typed refuses, what `refused` makes of the refusal."""
    expired = stale(layout.request, presented, layout.engine, layout.actor)
    return expired if expired is not None else await attempted(act, refused)


async def attempted(act: Act, refused: Refused) -> Response[Any]:
    """What `act` answers, or what `refused` makes of a DomainError or msgspec.ValidationError
    (each service translates its own decoding's, so nothing else is a refusal to show)."""
    try:
        return await act()
    except (msgspec.ValidationError, DomainError) as exc:
        return await refused(exc)


def on_error_page(layout: Layout, said: str = "") -> Refused:
    """A button's refusal, which has no form to show again: the error page, `said` first."""

    async def error(exc: Exception) -> Response[Any]:
        return layout.error(f"{said}{exc}", status_of(exc))

    return error


def problems_of(exc: Exception, fields: dict[str, str] | None = None) -> FieldProblems:
    """The refusal as problems by field. A msgspec refusal names its field (`$.port`); a
    domain refusal may name one (`DomainError(..., field="port")`). `fields` maps a command's
    field to the form's input where they differ (`health` -> `health_path`); a nested field
    not mapped is the input named by its path (`health.timeout_s` -> `health_timeout_s`)."""
    fields = fields or {}
    if isinstance(exc, msgspec.ValidationError):
        message = str(exc)
        match = _PATH.search(message)
        if match:
            return {_input_of(match.group(1), fields): message[: match.start()]}
        return {"": message}
    if isinstance(exc, DomainError) and exc.field:
        return {_input_of(exc.field, fields): str(exc)}
    return {"": str(exc)}


def onto(problems: FieldProblems, inputs: Iterable[str]) -> FieldProblems:
    """`problems`, those of a field the form has no input for said of the whole form (so no
    refusal goes unshown)."""
    known = set(inputs)
    mapped: FieldProblems = {}
    for name, problem in problems.items():
        key = name if name in known else ""
        mapped[key] = f"{mapped[key]} {problem}" if key in mapped else problem
    return mapped


def _input_of(path: str, fields: dict[str, str]) -> str:
    top = path.partition(".")[0]
    return fields.get(path) or fields.get(top) or path.replace(".", "_")


async def place_choices(actor: Actor, project_reads: ProjectReads) -> list[tuple[str, str]]:
    """The environments the actor may create a resource in, as a select's options: the value
    `team/project/environment`, the label `team / project name / environment`."""
    return [
        (f"{p.team}/{p.project}/{e}", f"{p.team} / {p.name} / {e}")
        for p in await project_reads.visible(actor)
        if actor.can(Permission.MANAGE_APPS, p.team, p.project)
        for e in (env.environment for env in p.environments)
    ]


def status_of(exc: Exception) -> int:
    """The status a refused form answers with: the domain's, else 422 (unprocessable)."""
    return exc.status if isinstance(exc, DomainError) else 422


__all__ = [
    "Act",
    "FieldProblems",
    "Refused",
    "Shown",
    "attempted",
    "on_error_page",
    "onto",
    "place_choices",
    "problems_of",
    "stale",
    "status_of",
    "submitted",
]
