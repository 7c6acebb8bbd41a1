"""What of an event's body never leaves the server as stored: a user's password hash. Exports put
`REDACTED` in its place and say so on the line (the chain's hash then cannot be recomputed from
it: see `chain.verify_export`); a body shown to a person also shows sealed values as `sealed`."""

from __future__ import annotations

from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.adapters.secrets import is_sealed
from rivetr.domain.events import EVENT_TYPES

REDACTED = "redacted"
SEALED = "sealed"
# a field of one of these names is a password hash wherever it appears
PASSWORD_FIELDS = frozenset({"password_hash"})
# the event types that carry one: a line of any other type marked redacted was tampered with
CARRYING_PASSWORDS = frozenset(
    tag for tag, cls in EVENT_TYPES.items() if PASSWORD_FIELDS & set(cls.__struct_fields__)
)
_SEALED_MARKS = (b'"rvs1:', b'"rvs2:')
_encode = msgspec.json.Encoder().encode


class Redacted(RecordedEvent, frozen=True):
    """An exported event read back whose `fields` were replaced by `REDACTED`: its `data` is not
    the stored bytes, so its `hash` (the stored event's) is carried, not recomputable."""

    redacted: tuple[str, ...]


def redact(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The body as an export carries it, and the fields replaced (none: the bytes as stored)."""
    if not any(name.encode() in data for name in PASSWORD_FIELDS):
        return data, ()
    body = msgspec.json.decode(data)
    if not isinstance(body, dict):
        return data, ()
    fields = tuple(sorted(PASSWORD_FIELDS & body.keys()))
    if not fields:
        return data, ()
    return _encode({k: REDACTED if k in fields else v for k, v in body.items()}), fields


def shown(data: bytes) -> Any:
    """The body as a person (or a live stream) is shown it: password hashes redacted, sealed
    values (env values, git credentials, webhook secrets, second-factor seeds) as `sealed`,
    never opened."""
    body = msgspec.json.decode(redact(data)[0])
    if any(mark in data for mark in _SEALED_MARKS):
        body = _seal(body)
    return body


def shown_json(data: bytes) -> bytes:
    """`shown` as JSON bytes (the stored bytes themselves when nothing is hidden)."""
    hides = (*_SEALED_MARKS, *(name.encode() for name in PASSWORD_FIELDS))
    return _encode(shown(data)) if any(mark in data for mark in hides) else data


def refusal(event: Redacted) -> str | None:
    """Why a line marked redacted cannot be one the server wrote, or None. Only password hashes
    are redacted, only from the events that carry them, and each reads `REDACTED`."""
    if not event.redacted or not set(event.redacted) <= PASSWORD_FIELDS:
        named = ", ".join(event.redacted) or "nothing"
        return f"marked redacted ({named}): only password hashes are"
    if event.type not in CARRYING_PASSWORDS:
        return f"marked redacted, but a {event.type} event carries no password hash"
    try:
        body = msgspec.json.decode(event.data)
    except msgspec.DecodeError:
        return "marked redacted, but its data is not JSON"
    if not isinstance(body, dict) or any(body.get(f) != REDACTED for f in event.redacted):
        return f"marked redacted, but its {', '.join(event.redacted)} is not {REDACTED!r}"
    return None


def _seal(value: object) -> object:
    if isinstance(value, str):
        return SEALED if is_sealed(value) else value
    if isinstance(value, dict):
        return {k: _seal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_seal(v) for v in value]
    return value
