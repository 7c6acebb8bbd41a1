"""What every dashboard form shares: the CSRF check, and the server's refusal turned into
problems keyed by field (`""` for the whole form) that `_forms.html` shows beside each field."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.response import Template

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.errors import DomainError
from rivetr.web.auth import tokens_match
from rivetr.web.pages.guard import csrf_of, error_page

FieldProblems = dict[str, str]
_PATH = re.compile(r" - at `\$\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")


def stale(
    request: Request[Any, Any, Any], presented: str, engine: EngineMonitor
) -> Template | None:
    """The answer to a form without the page's CSRF token, or None when it has it."""
    expected = csrf_of(request)
    if expected is None or not tokens_match(presented, expected):
        return error_page(engine, "This form has expired: load the page again.", 403)
    return None


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


def _input_of(path: str, fields: dict[str, str]) -> str:
    top = path.partition(".")[0]
    return fields.get(path) or fields.get(top) or path.replace(".", "_")


def status_of(exc: Exception) -> int:
    """The status a refused form answers with: the domain's, else 422 (unprocessable)."""
    return exc.status if isinstance(exc, DomainError) else 422


__all__ = ["FieldProblems", "problems_of", "stale", "status_of"]
