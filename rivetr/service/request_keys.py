"""A request's Idempotency-Key, carried from the web to the commands it runs, so that a retry of
a request whose answer was lost (a full disk, a dropped connection) finds what the first try
recorded instead of recording it again."""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass, field

# the prefix of a correlation id made from a request key, which is looked up before deciding
PREFIX = "req-"
MAX_LENGTH = 200


@dataclass
class _Carried:
    key: str
    commands: int = field(default=0)


_carried: ContextVar[_Carried | None] = ContextVar("rivetr_request_key", default=None)


class InvalidRequestKey(ValueError):
    """An Idempotency-Key that cannot be one: empty, too long, or not printable ASCII."""


def carry(key: str) -> None:
    """Carry `key` for the rest of this request (its task's context)."""
    if not key or len(key) > MAX_LENGTH or not all(" " < c <= "~" for c in key):
        raise InvalidRequestKey(
            f"Idempotency-Key must be 1 to {MAX_LENGTH} printable ASCII characters, no spaces"
        )
    _carried.set(_Carried(key))


def next_correlation(actor: str) -> str | None:
    """The correlation id of the request's next command, or None when no key is carried.

    Commands are counted within the request, so a request that runs two commands gives each
    its own id, the same on every retry; the actor is part of it, so one user's key never
    finds another's change."""
    carried = _carried.get()
    if carried is None:
        return None
    number = carried.commands
    carried.commands += 1
    digest = hashlib.sha256(f"{actor}\0{carried.key}\0{number}".encode()).hexdigest()
    return PREFIX + digest[:32]
