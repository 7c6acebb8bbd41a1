"""What slows password guessing besides the account lockout the log records: a cap on attempts
from one address, and a lockout, kept in memory, of addresses that have no account."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Any

from rivetr.domain import users
from rivetr.domain.errors import DomainError
from rivetr.domain.events import Event

ATTEMPTS_PER_MINUTE = 10  # sign-ins from one address, whatever the account
_TRACKED_ADDRESSES = 10_000  # memory bound for each of the per-address records


class SignInRefused(DomainError):
    title = "Sign-in refused"
    status = 401

    def __init__(
        self, detail: str, *, locked_until: str | None = None, throttled: bool = False
    ) -> None:
        super().__init__(detail)
        self.locked_until = locked_until
        if locked_until is not None or throttled:
            self.status = 429


class AddressThrottle:
    """At most `limit` sign-in attempts per minute from one address, across all accounts:
    guessing is slowed before it reaches the log (each refused attempt would be an event) or the
    argon2 work. Kept in memory: a restart forgets it, the account lockout does not."""

    def __init__(self, limit: int = ATTEMPTS_PER_MINUTE, clock: Any = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, address: str | None) -> None:
        """Count an attempt from `address`; raise SignInRefused (429) past the limit."""
        if address is None:
            return
        now = self.clock()
        attempts = self._attempts.pop(address, None) or deque()
        while attempts and now - attempts[0] >= 60:
            attempts.popleft()
        self._attempts[address] = attempts  # most recently seen last
        while len(self._attempts) > _TRACKED_ADDRESSES:
            self._attempts.popitem(last=False)
        if len(attempts) >= self.limit:
            wait = max(1, math.ceil(60 - (now - attempts[0])))
            raise SignInRefused(
                f"too many sign-in attempts from this address: try again in {wait} s",
                throttled=True,
            )
        attempts.append(now)


class UnknownAddresses:
    """The failures and lockout of each e-mail address with no account, folded from the events
    `users.decide_unknown_sign_in` gives, so that such an address is refused and locked out as
    an account is. In memory, the most recently tried `limit` of them: nothing exists to record
    a lockout against, and a restart forgets it."""

    def __init__(self, limit: int = _TRACKED_ADDRESSES) -> None:
        self.limit = limit
        self._states: OrderedDict[str, users.UserState] = OrderedDict()

    def state(self, user_id: str) -> users.UserState:
        return self._states.get(user_id) or users.UserState(user_id=user_id)

    def remember(self, state: users.UserState, events: Iterable[Event]) -> None:
        for event in events:
            state = users.evolve(state, event)
        self._states.pop(state.user_id, None)
        self._states[state.user_id] = state  # most recently tried last
        while len(self._states) > self.limit:
            self._states.popitem(last=False)
