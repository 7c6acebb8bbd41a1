"""A webhook delivery before its signature is checked: what its headers say (`admission`), and
what a sender without the app's (or stack's) secret can make it cost: how much of its body is
read, how many bytes of bodies not yet verified are held at once, how long a body may take to
arrive, and how many refusals a minute reach the log."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping

from rivetr.adapters import webhooks
from rivetr.adapters.webhooks.base import Provider
from rivetr.domain.webhooks import Signature
from rivetr.service.commands.webhook_targets import HookTarget

# A sender whose headers cannot be authentic (no such app, no secret, no signature header in
# the provider's shape) is refused whatever its body says: up to SMALL_BODY of it is read and
# dropped, so that the host sees the answer rather than a reset connection, and no more.
SMALL_BODY = 64 * 1024
# One whose headers may be authentic: signatures cover the whole body, so all of it is needed.
# Real pushes with many commits reach hundreds of KB; this is what GitHub caps payloads at.
MAX_BODY = 5 * 1024 * 1024
# Bytes that the bodies of deliveries not yet answered may hold at once, in all (reserved
# before a body is read); beyond it a delivery is answered 503 with Retry-After (hosts show
# it and can redeliver). About four 5 MB bodies.
UNVERIFIED_BYTES = 24 * 1024 * 1024
BODY_DEADLINE_S = 30.0  # for the whole body to arrive: a slow sender holds its share no longer
RETRY_AFTER_S = 5
REFUSALS_PER_MINUTE = 30  # recorded per app; beyond it refused deliveries leave no event
# what a header must look like to be recorded: the providers send UUIDs and short names
_DELIVERY_ID = re.compile(r"[A-Za-z0-9._:{}-]{1,128}")
_EVENT_NAME = re.compile(r"[\x20-\x7e]{1,128}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Admission:
    """What a delivery's headers say before its body is read: the app or stack its URL names,
    and the signature's verdict when the headers alone decide it (None: only the body can
    tell)."""

    provider: Provider
    target: HookTarget
    headers: Mapping[str, str]
    secret: str | None
    signature: Signature | None
    event: str | None  # as recorded: None when the header is absent or unfit to record
    delivery_id: str | None
    problem: str | None = None  # a header unfit to record: refused once the body is signed

    @property
    def plausible(self) -> bool:
        """Whether the delivery may be authentic: only then is all of its body worth reading."""
        return self.signature is None or self.signature == "valid"

    @property
    def body_limit(self) -> int:
        return MAX_BODY if self.plausible else SMALL_BODY


def admission(
    provider: Provider,
    target: HookTarget,
    headers: Mapping[str, str],
    secret: str | None,
) -> Admission:
    """What the headers say, `secret` being the target's (None: it has none, or no target)."""
    signature: Signature | None = (
        "no secret" if secret is None else webhooks.check_headers(provider, headers, secret)
    )
    event = webhooks.event_name(provider, headers)
    delivery = webhooks.delivery_id(provider, headers)
    problem = None
    if event is not None and not _EVENT_NAME.fullmatch(event):
        event, problem = None, "the event header is not an event name (printable, 128 at most)"
    if delivery is not None and not _DELIVERY_ID.fullmatch(delivery):
        delivery, problem = None, "the delivery id header is not an id (128 characters at most)"
    return Admission(
        provider=provider,
        target=target,
        headers=headers,
        secret=secret,
        signature=signature,
        event=event,
        delivery_id=delivery,
        problem=problem,
    )


class BodyBudget:
    """Bytes reserved by deliveries whose bodies are being read and checked. One event loop
    takes and gives them back, so the count needs no lock."""

    def __init__(self, capacity: int = UNVERIFIED_BYTES) -> None:
        self.capacity = capacity
        self.held = 0

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[bool]:
        """Reserve `size` bytes for as long as the block runs; yields False (and reserves
        nothing) when they would overrun the capacity."""
        if self.held + size > self.capacity:
            yield False
            return
        self.held += size
        try:
            yield True
        finally:
            self.held -= size


def reservation(declared: int | None, limit: int) -> int:
    """What a delivery reserves before its body is read: what it declares, at most `limit`,
    and never less than 1 KB, so that empty bodies are counted too."""
    size = limit if declared is None else min(declared, limit)
    return max(size, 1024)


class RefusalBudget:
    """Refused deliveries are recorded, but an unauthenticated sender must not be able to fill
    the log: past `limit` a minute per app they are answered without an event."""

    def __init__(self, limit: int = REFUSALS_PER_MINUTE, clock: object = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, app: str) -> bool:
        now = self.clock()  # type: ignore[operator]
        seen = self._seen.pop(app, None) or deque()
        while seen and now - seen[0] >= 60:
            seen.popleft()
        self._seen[app] = seen
        while len(self._seen) > 10_000:
            self._seen.popitem(last=False)
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True
