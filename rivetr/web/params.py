"""Values taken from a path, a query or a header: a path value held to its type's pattern, each
query parameter given once, and whole numbers bounded to what a SQLite INTEGER holds, so a huge
one is refused (400) before it reaches a query instead of overflowing inside one."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException
from litestar.params import Parameter

from rivetr.service import request_keys
from rivetr.web.problems import invalid

SQLITE_MAX = 2**63 - 1  # the largest INTEGER SQLite stores: a larger Python int cannot be bound
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: int() also takes "١٢", and "²".isdigit()


def bounded(description: str, *, ge: int = 0, le: int = SQLITE_MAX) -> Any:
    """The Parameter of an integer query value: `ge` to `le`, which SQLite can hold."""
    return Parameter(ge=ge, le=min(le, SQLITE_MAX), description=description)


def whole_number(text: str | None) -> int | None:
    """`text` as a whole number SQLite can hold, or None when it is anything else."""
    text = (text or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= SQLITE_MAX else None


def given_once(request: Request[Any, Any, Any]) -> None:
    """Refuse (400) a query parameter given more than once: the API takes no lists there, and
    Litestar would quietly take the last."""
    for key, values in request.query_params.dict().items():
        if len(values) > 1:
            raise ClientException(f"the query parameter {key!r} is given {len(values)} times")


def path_values_checked(request: Request[Any, Any, Any]) -> None:
    """Refuse (400) a path value its parameter's type does not take (an app name that no app
    can have): Litestar checks a path value's Python type, not the pattern its type carries."""
    signature = request.route_handler.parsed_fn_signature.parameters
    for name, value in request.path_params.items():
        field = signature.get(name)
        metas = [m for m in field.metadata if isinstance(m, msgspec.Meta)] if field else []
        if field is not None and metas:
            try:
                msgspec.convert(value, Annotated[field.annotation, *metas])
            except msgspec.ValidationError as exc:
                raise invalid(exc, "path", key=name) from None


def last_event_id(request: Request[Any, Any, Any], meaning: str) -> int | None:
    """The position a reconnecting stream resumes after (its `Last-Event-ID`), if it sent one;
    400 unless it is a whole number SQLite can hold."""
    raw = request.headers.get("last-event-id")
    if raw is None:
        return None
    value = whole_number(raw)
    if value is None:
        raise ClientException(f"Last-Event-ID must be {meaning}, not {raw[:40]!r}")
    return value


def carry_request_key(request: Request[Any, Any, Any]) -> None:
    """Carry the request's Idempotency-Key (if any) to the commands it runs; refuse (400) one
    that cannot be a key."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return
    try:
        request_keys.carry(key)
    except request_keys.InvalidRequestKey as exc:
        raise ValidationException(
            str(exc), extra=[{"key": "Idempotency-Key", "message": str(exc), "source": "header"}]
        ) from None
