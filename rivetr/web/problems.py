"""The one place exceptions become HTTP responses: RFC 9457 problem details, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException

from rivetr.domain.errors import DomainError
from rivetr.service.errors import ConcurrencyError, ReadModelBehind, StorageFault

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    # for a change the service could not finish answering: whether it was recorded
    # ("recorded", "not_recorded") or cannot be known ("unknown")
    outcome: str | None = None


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    outcome: str | None = None,
) -> Response[Problem]:
    return Response(
        Problem(
            title=title,
            status=status,
            detail=detail,
            instance=request.url.path,
            errors=errors,
            outcome=outcome,
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def invalid(
    exc: msgspec.ValidationError, source: str, key: str | None = None
) -> ValidationException:
    """msgspec's refusal of a value as the 400 that names where in it (`key`) and in what
    part of the request (`source`: body, path) the fault is."""
    message, _, where = str(exc).partition(" - at `$.")
    error = {"message": message, "key": key or where.rstrip("`") or None, "source": source}
    return ValidationException(extra=[error])


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    match exc:
        case DomainError():
            # the field at fault, where the domain names one: what a client shows it beside
            errors = [{"key": exc.field, "message": str(exc)}] if exc.field else None
            return problem_response(request, exc.status, exc.title, str(exc), errors=errors)
        case ConcurrencyError():
            return problem_response(request, 409, "Conflict", f"{exc}; retry the request")
        case ValidationException():
            errors = exc.extra if isinstance(exc.extra, list) else None
            detail = exc.detail
            if errors:
                detail = "; ".join(
                    f"{e.get('key') or 'body'}: {e.get('message')}" for e in errors if e
                )
            return problem_response(
                request,
                400,
                "Invalid request",
                detail or "the request body is not valid",
                errors=errors,
            )
        case NotAuthorizedException():
            return problem_response(
                request,
                401,
                "Unauthorized",
                exc.detail,
                headers={"WWW-Authenticate": 'Bearer realm="rivetr"'},
            )
        case StorageFault():
            return _storage_fault(request, exc)
        case ReadModelBehind():
            return problem_response(
                request,
                503,
                "Service Unavailable",
                f"{exc}; {RETRY_SAFELY}",
                headers={"Retry-After": "5"},
                outcome="recorded",
            )
        case HTTPException():
            return problem_response(
                request, exc.status_code, _reason(exc.status_code), exc.detail, headers=exc.headers
            )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request, 500, "Internal Server Error", "the error was logged; nothing was recorded"
    )


RETRY_SAFELY = (
    "a retry carrying the same Idempotency-Key header is answered as this request would have"
    " been, and never records the change twice"
)


def _storage_fault(request: Request[Any, Any, Any], fault: StorageFault) -> Response[Problem]:
    """507 when the disk is full (nothing was recorded), 503 for a read-only or failing disk,
    each saying what is wrong and where; an outcome the writer could not read back is never
    answered as a plain failure."""
    if fault.outcome == "unknown":
        said = "whether it was recorded cannot be told until the disk answers again"
    else:
        said = "nothing was recorded"
    full = fault.kind == "full" and fault.outcome == "not_recorded"
    return problem_response(
        request,
        507 if full else 503,
        "Insufficient Storage" if full else "Service Unavailable",
        f"{fault.describe()}; {said}; {RETRY_SAFELY}",
        headers={"Retry-After": "10"},
        outcome=fault.outcome,
    )


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


__all__ = [
    "PROBLEM_JSON",
    "MediaType",
    "Problem",
    "handle_exception",
    "invalid",
    "problem_response",
]
