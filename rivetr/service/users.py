"""Accounts and password sign-in: argon2 hashes, sessions carried by a cookie whose SHA-256 is
all the log keeps, and a lockout recorded as events after repeated failures."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict, deque
from datetime import UTC, datetime
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import ANY_VERSION, ConcurrencyError, EventMeta, EventStore
from rivetr.adapters.passwords import hash_password, verify_password
from rivetr.domain import users
from rivetr.domain.access import ROLE_PERMISSIONS, Actor
from rivetr.domain.commands import CreateUser
from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.domain.events import LoginFailed, SessionStarted, UserLockedOut, UserRole
from rivetr.domain.users import EndSession, SignIn
from rivetr.projections.runner import ProjectionRunner
from rivetr.projections.views import ReadModel
from rivetr.service.handler import CommandHandler
from rivetr.service.tokens import hash_secret  # a session secret is as random as a token's

SESSION_PREFIX = "rvs_"
MIN_PASSWORD = 12
ATTEMPTS_PER_MINUTE = 10  # sign-ins from one address, whatever the account
_TRACKED_ADDRESSES = 10_000  # memory bound for the per-address counts


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


def csrf_token(secret: str) -> str:
    """The token a cookie-signed request must echo (header or form field) to change anything:
    derived from the session secret, which a cross-site page cannot read."""
    return hmac.new(secret.encode(), b"rivetr csrf", hashlib.sha256).hexdigest()[:32]


class UserService:
    def __init__(
        self, handler: CommandHandler, store: EventStore, runner: ProjectionRunner, read: ReadModel
    ) -> None:
        self.handler = handler
        self.store = store
        self.runner = runner
        self.read = read
        self.throttle = AddressThrottle()

    async def create(self, actor: Actor, email: str, password: str, role: UserRole) -> str:
        if len(password) < MIN_PASSWORD:
            raise InvalidCommand(f"a password needs at least {MIN_PASSWORD} characters")
        user_id = users.normalise_email(email)
        try:
            command = msgspec.convert(
                {"email": email, "password_hash": await hash_password(password), "role": role},
                CreateUser,
            )
        except msgspec.ValidationError as exc:
            raise InvalidCommand(f"{email!r} is not an e-mail address ({exc})") from None
        await self.handler.execute(
            actor,
            command,
            stream_id=users.stream_id(user_id),
            fold=lambda history: users.fold(user_id, history),
            decide=users.decide_create,
        )
        return user_id

    async def sign_in(
        self, email: str, password: str, remote: str | None = None
    ) -> tuple[str, SessionStarted]:
        """A new session's secret (the cookie's value) and its event.

        Raises:
            SignInRefused: unknown address or wrong password (one message for both), or a
                locked account (status 429, with the time it unlocks).
        """
        self.throttle.check(remote)
        user_id = users.normalise_email(email)
        stream = users.stream_id(user_id)
        secret = SESSION_PREFIX + secrets.token_urlsafe(32)
        meta = EventMeta(actor=f"user:{user_id}")
        for _ in range(3):  # a concurrent sign-in moved the stream on: decide again
            history = await self.store.read_stream(stream)
            state = users.fold(user_id, [e.event for e in history])
            matched = await verify_password(state.password_hash or None, password)
            now = datetime.now(UTC).isoformat(timespec="microseconds")
            if not state.exists:
                failed = LoginFailed(email=email, reason="unknown email", at=now, remote=remote)
                await self.store.append("auth", ANY_VERSION, [failed], meta)
                raise SignInRefused("wrong e-mail address or password")
            command = SignIn(
                email=email,
                password_matched=matched,
                at=now,
                session_id=secrets.token_hex(8),
                secret_hash=hash_secret(secret),
                remote=remote,
            )
            events = users.decide_sign_in(state, command)
            try:
                recorded = await self.store.append(stream, len(history), events, meta)
            except ConcurrencyError:
                continue
            await self.runner.wait_until(recorded[-1].position)
            outcome = events[-1]
            if isinstance(outcome, SessionStarted):
                return secret, outcome
            if isinstance(outcome, UserLockedOut):
                raise SignInRefused(
                    f"too many failed sign-ins: locked until {outcome.until}",
                    locked_until=outcome.until,
                )
            if isinstance(outcome, LoginFailed) and outcome.reason == "locked":
                raise SignInRefused(
                    f"too many failed sign-ins: locked until {state.locked_until}",
                    locked_until=state.locked_until,
                )
            raise SignInRefused("wrong e-mail address or password")
        raise SignInRefused("too many concurrent sign-ins; try again")

    async def authenticate(self, secret: str) -> Actor | None:
        """The user a session cookie stands for, or None (unknown, ended or expired)."""
        if not secret.startswith(SESSION_PREFIX):
            return None
        view = await self.read.session_by_hash(hash_secret(secret))
        if view is None or view.ended_at is not None:
            return None
        if datetime.fromisoformat(view.expires_at) <= datetime.now(UTC):
            return None
        return Actor(
            kind="user",
            id=view.user_id,
            name=view.user_id,
            permissions=ROLE_PERMISSIONS[view.role],
        )

    async def sign_out(self, secret: str) -> None:
        view = await self.read.session_by_hash(hash_secret(secret))
        if view is None:
            return
        stream = users.stream_id(view.user_id)
        history = await self.store.read_stream(stream)
        state = users.fold(view.user_id, [e.event for e in history])
        events = users.decide_end_session(
            state, EndSession(email=view.user_id, session_id=view.session_id)
        )
        if events:
            recorded = await self.store.append(
                stream, len(history), events, EventMeta(actor=f"user:{view.user_id}")
            )
            await self.runner.wait_until(recorded[-1].position)
