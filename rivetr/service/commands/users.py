"""Accounts and password sign-in: argon2 hashes, sessions carried by a cookie whose SHA-256 is
all the log keeps, and a lockout recorded as events after repeated failures."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import ANY_VERSION, ConcurrencyError, EventMeta, EventStore
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.adapters.passwords import hash_password, verify_password
from rivetr.adapters.secrets import SecretBox
from rivetr.domain import users
from rivetr.domain.access import Actor, user_actor
from rivetr.domain.aggregates import USERS
from rivetr.domain.commands import (
    ConfirmTotp,
    CreateUser,
    DisableTotp,
    EnrollTotp,
    ResealTotp,
    RevokeSession,
)
from rivetr.domain.errors import Forbidden, InvalidCommand
from rivetr.domain.events import (
    Event,
    LoginFailed,
    RecoveryCodeUsed,
    SessionStarted,
    UserLockedOut,
    UserRole,
)
from rivetr.domain.users import EndSession, SignIn
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner
from rivetr.projections.teams import InvitationView
from rivetr.service.commands import second_factor
from rivetr.service.commands.handler import CommandHandler, folded
from rivetr.service.commands.sign_in_limits import AddressThrottle, SignInRefused, UnknownAddresses
from rivetr.service.commands.tokens import hash_secret  # a session secret is as random as a token's

SESSION_PREFIX = "rvs_"
MIN_PASSWORD = 12


def csrf_token(secret: str) -> str:
    """The token a cookie-signed request must echo (header or form field) to change anything:
    derived from the session secret, which a cross-site page cannot read."""
    return hmac.new(secret.encode(), b"rivetr csrf", hashlib.sha256).hexdigest()[:32]


def _refusal(outcome: Event, state: users.UserState) -> SignInRefused:
    """The answer to a refused sign-in whose last event is `outcome`, `state` being the
    account's (or the unknown address's) before it."""
    if isinstance(outcome, UserLockedOut):
        return SignInRefused(
            f"too many failed sign-ins: locked until {outcome.until}", locked_until=outcome.until
        )
    if isinstance(outcome, LoginFailed) and outcome.reason == "locked":
        return SignInRefused(
            f"too many failed sign-ins: locked until {state.locked_until}",
            locked_until=state.locked_until,
        )
    if isinstance(outcome, LoginFailed) and outcome.reason == "wrong code":
        return SignInRefused("wrong or already used code")
    return SignInRefused("wrong e-mail address or password")


def _totp_context(user_id: str) -> str:
    return f"user:{user_id}:totp"


def _own(actor: Actor) -> str:
    if actor.user is None:
        raise Forbidden("a second factor belongs to a user: sign in with a password")
    return actor.user


class UserService:
    def __init__(
        self,
        handler: CommandHandler,
        store: EventStore,
        runner: ProjectionRunner,
        read: ReadModel,
        secrets: SecretBox,
    ) -> None:
        self.handler = handler
        self.store = store
        self.runner = runner
        self.read = read
        self.secrets = secrets
        self.throttle = AddressThrottle()
        self.unknown = UnknownAddresses()

    async def create(self, actor: Actor, email: str, password: str, role: UserRole) -> str:
        if len(password) < MIN_PASSWORD:
            raise InvalidCommand(
                f"a password needs at least {MIN_PASSWORD} characters", field="password"
            )
        user_id = users.normalise_email(email)
        try:
            command = msgspec.convert(
                {"email": email, "password_hash": await hash_password(password), "role": role},
                CreateUser,
            )
        except msgspec.ValidationError as exc:
            raise InvalidCommand(
                f"{email!r} is not an e-mail address ({exc})", field="email"
            ) from None
        await self.handler.execute(
            actor,
            command,
            USERS,
            user_id,
            decide=users.decide_create,
        )
        return user_id

    async def register(self, email: str, password: str, invitation: InvitationView) -> str:
        """Open the account an invitation is addressed to. The invitation (checked by the
        caller, by its secret's hash) is the authority: nobody is signed in to authorise it."""
        if users.normalise_email(email) != users.normalise_email(invitation.email):
            raise InvalidCommand(f"this invitation is for {invitation.email}")
        if len(password) < MIN_PASSWORD:
            raise InvalidCommand(
                f"a password needs at least {MIN_PASSWORD} characters", field="password"
            )
        user_id = users.normalise_email(email)
        command = CreateUser(email=invitation.email, password_hash=await hash_password(password))
        await self.handler.decide_and_append(
            command,
            USERS,
            user_id,
            decide=users.decide_create,
            meta=EventMeta(actor=f"user:{user_id}", team=invitation.team, source="invitation"),
        )
        return user_id

    async def exists(self, email: str) -> bool:
        return (await folded(self.store, USERS.at(users.normalise_email(email)))).exists

    async def sign_in(
        self, email: str, password: str, remote: str | None = None, code: str | None = None
    ) -> tuple[str, SessionStarted]:
        """A new session's secret (the cookie's value) and its event. `code` is a TOTP code
        or a recovery code, for an account with a second factor.

        Raises:
            SignInRefused: unknown address or wrong password (one message for both), a wrong
                code, or a locked account (status 429, with the time it unlocks); an unknown
                address is locked out as an account is, so the answers are the same.
            SecondFactorNeeded: the password was right and the account needs a code.
        """
        self.throttle.check(remote)
        user_id = users.normalise_email(email)
        stream = users.stream_id(user_id)
        secret = SESSION_PREFIX + secrets.token_urlsafe(32)
        meta = EventMeta(actor=f"user:{user_id}", source="sign-in")

        async def attempt() -> tuple[str, SessionStarted]:
            history = await self.store.read_stream(stream)
            state = users.fold(user_id, [e.event for e in history])
            matched = await verify_password(state.password_hash or None, password)
            command = SignIn(
                email=email,
                password_matched=matched,
                at=datetime.now(UTC).isoformat(timespec="microseconds"),
                session_id=secrets.token_hex(8),
                secret_hash=hash_secret(secret),
                remote=remote,
                **self._second_factor(state, code),
            )
            if not state.exists:
                raise await self._refuse_unknown(command, meta)
            events = users.decide_sign_in(state, command)
            recorded = await self.store.append(stream, len(history), events, meta)
            await self.runner.wait_until(recorded[-1].position)
            outcome = events[-1]
            if isinstance(outcome, SessionStarted):
                return secret, outcome
            if isinstance(outcome, RecoveryCodeUsed):
                return secret, next(e for e in events if isinstance(e, SessionStarted))
            raise _refusal(outcome, state)

        try:  # a concurrent sign-in moved the stream on: decided again, a few times
            return await retry_on_conflict(attempt, attempts=3)  # each one verifies a hash
        except ConcurrencyError:
            raise SignInRefused("too many concurrent sign-ins; try again") from None

    async def _refuse_unknown(self, attempt: SignIn, meta: EventMeta) -> SignInRefused:
        """Record an attempt on an address with no account, and refuse it as an account's
        would be; the lockout it may lead to lives in memory only."""
        state = self.unknown.state(users.normalise_email(attempt.email))
        events = users.decide_unknown_sign_in(state, attempt)
        self.unknown.remember(state, events)
        failures = [e for e in events if isinstance(e, LoginFailed)]
        await self.store.append("auth", ANY_VERSION, failures, meta)
        return _refusal(events[-1], state)

    def _second_factor(self, state: users.UserState, code: str | None) -> dict[str, Any]:
        """The SignIn fields for `code`: which kind it is and what it matched."""
        if not code or not state.totp_enabled or state.totp_secret is None:
            return {}
        if second_factor.looks_like_recovery_code(code):
            return {"code_kind": "recovery", "recovery_hash": second_factor.recovery_hash(code)}
        seed = self.secrets.open(_totp_context(state.user_id), state.totp_secret)
        return {"code_kind": "totp", "totp_step": second_factor.matching_step(seed, code)}

    async def enroll_totp(self, actor: Actor) -> tuple[str, str]:
        """Start setting up a second factor for the signed-in user: (seed, otpauth URI). It is
        asked for at sign-in only once `confirm_totp` has seen a code from it."""
        user_id = _own(actor)
        seed = second_factor.new_secret()
        sealed = self.secrets.seal(_totp_context(user_id), seed)
        await self._totp(actor, EnrollTotp(user_id=user_id, secret=sealed))
        return seed, second_factor.provisioning_uri(seed, user_id)

    async def confirm_totp(self, actor: Actor, code: str) -> list[str]:
        """Turn the second factor on; return the recovery codes (shown this once)."""
        user_id = _own(actor)
        state = await self._state(user_id)
        step = None
        if state.totp_secret is not None:
            seed = self.secrets.open(_totp_context(user_id), state.totp_secret)
            step = second_factor.matching_step(seed, code)
        codes = second_factor.new_recovery_codes()
        hashes = [second_factor.recovery_hash(c) for c in codes]
        command = ConfirmTotp(user_id=user_id, totp_step=step, recovery_hashes=hashes)
        await self._totp(actor, command)
        return codes

    async def disable_totp(self, actor: Actor, user_id: str, code: str | None = None) -> None:
        """Turn a second factor off: one's own with a current code or a recovery code, or an
        instance admin's doing for a user who lost their device."""
        user_id = users.normalise_email(user_id)
        if actor.user == user_id:
            state = await self._state(user_id)
            fields = self._second_factor(state, code)
            valid = (
                fields.get("totp_step") is not None
                or fields.get("recovery_hash") in state.recovery_hashes
            )
            if state.totp_enabled and not valid:
                raise InvalidCommand(
                    "turning the second factor off needs a current code", field="code"
                )
        await self._totp(actor, DisableTotp(user_id=user_id))

    async def reseal_totp(self, actor: Actor, user_id: str) -> int:
        """Seal the user's TOTP seed again with the newest key (after `rotate`); return how
        many events that appended."""
        state = await self._state(user_id)
        if state.totp_secret is None:
            return 0
        context = _totp_context(user_id)
        secret = self.secrets.seal(context, self.secrets.open(context, state.totp_secret))
        await self._totp(actor, ResealTotp(user_id=user_id, secret=secret))
        return 0 if secret == state.totp_secret else 1

    async def second_factor(self, user_id: str) -> str:
        """Where a user's second factor stands: "on", "pending" (set up, not confirmed) or "off"."""
        state = await self._state(users.normalise_email(user_id))
        if state.totp_enabled:
            return "on"
        return "pending" if state.totp_secret is not None else "off"

    async def _totp(self, actor: Actor, command: users.TotpCommand) -> None:
        await self.handler.execute(
            actor,
            command,
            USERS,
            command.user_id,
            decide=users.decide_totp,
        )

    async def _state(self, user_id: str) -> users.UserState:
        return await folded(self.store, USERS.at(user_id))

    async def revoke_session(self, actor: Actor, user_id: str, session_id: str) -> None:
        """End a user's session: their own doing, or an instance admin's."""
        user_id = users.normalise_email(user_id)
        await self.handler.execute(
            actor,
            RevokeSession(user_id=user_id, session_id=session_id),
            USERS,
            user_id,
            decide=users.decide_revoke,
        )

    async def authenticate(self, secret: str) -> Actor | None:
        """The user a session cookie stands for, or None (unknown, ended or expired)."""
        if not secret.startswith(SESSION_PREFIX):
            return None
        view = await self.read.users.session_by_hash(hash_secret(secret))
        if view is None or view.ended_at is not None:
            return None
        if datetime.fromisoformat(view.expires_at) <= datetime.now(UTC):
            return None
        teams = self.read.teams
        return user_actor(
            view.user_id,
            await teams.memberships_of(view.user_id),
            project_roles=await teams.project_roles_of(view.user_id),
        )

    async def sign_out(self, secret: str) -> None:
        view = await self.read.users.session_by_hash(hash_secret(secret))
        if view is None:
            return
        await self.handler.decide_and_append(
            EndSession(email=view.user_id, session_id=view.session_id),
            USERS,
            view.user_id,
            decide=users.decide_end_session,
            meta=EventMeta(actor=f"user:{view.user_id}", source="session"),
        )
