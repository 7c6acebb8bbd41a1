"""The User aggregate: an account, its sign-ins and sessions, and the lockout that slows down
password guessing. Pure: the service passes in the clock's reading and whether the password
matched (hashing is I/O-heavy work done outside)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from rivetr.domain.commands import (
    ConfirmTotp,
    CreateUser,
    DisableTotp,
    EnrollTotp,
    ResealTotp,
    RevokeSession,
)
from rivetr.domain.errors import AlreadyExists, DomainError, InvalidCommand, NotFound
from rivetr.domain.events import (
    Event,
    LoginFailed,
    RecoveryCodeUsed,
    SessionEnded,
    SessionStarted,
    TotpDisabled,
    TotpEnabled,
    TotpEnrolled,
    TotpResealed,
    UserCreated,
    UserLockedOut,
    UserRole,
)

MAX_FAILURES = 5  # failed sign-ins in a row, within FAILURE_WINDOW, before a lockout
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(days=7)


class SignIn(msgspec.Struct, frozen=True, kw_only=True):
    """A sign-in attempt as the service checked it: whether the password matched, the second
    factor given, and the session to start. Not a command: nobody is signed in yet to
    authorise it."""

    email: str
    password_matched: bool
    at: str  # ISO 8601, UTC: the clock's reading, passed in to keep the domain pure
    session_id: str
    secret_hash: str
    remote: str | None = None
    code_kind: Literal["totp", "recovery"] | None = None  # None: no code was given
    totp_step: int | None = None  # the step a TOTP code matched (None: it matched none)
    recovery_hash: str | None = None  # SHA-256 of the recovery code given


class SecondFactorNeeded(DomainError):
    """The password was right; the account also needs a code. Nothing is recorded: this is not
    a failure, and the next attempt (with the code) is checked in full again."""

    title = "Second factor needed"
    status = 401


class EndSession(msgspec.Struct, frozen=True, kw_only=True):
    """Signing out: whoever holds the session's cookie may end it."""

    email: str
    session_id: str
    reason: Literal["logout", "revoked"] = "logout"


class UserState(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    exists: bool = False
    email: str = ""
    password_hash: str = ""
    role: UserRole = "viewer"
    failures: tuple[str, ...] = ()  # times of the failed sign-ins since the last success
    locked_until: str | None = None
    sessions: frozenset[str] = frozenset()  # ids of the sessions not ended
    totp_secret: str | None = None  # sealed; set at enrolment
    totp_enabled: bool = False
    recovery_hashes: frozenset[str] = frozenset()
    last_totp_step: int = -1  # a code's step is accepted once: replays are refused


def normalise_email(email: str) -> str:
    return email.strip().lower()


def stream_id(user_id: str) -> str:
    return f"user-{user_id}"


def evolve(state: UserState, event: Event) -> UserState:
    match event:
        case UserCreated():
            return UserState(
                user_id=event.user_id,
                exists=True,
                email=event.email,
                password_hash=event.password_hash,
                role=event.role,
            )
        case LoginFailed() if event.reason in ("wrong password", "wrong code", "unknown email"):
            return msgspec.structs.replace(state, failures=(*state.failures, event.at))
        case UserLockedOut():
            return msgspec.structs.replace(state, locked_until=event.until, failures=())
        case SessionStarted():
            return msgspec.structs.replace(
                state,
                failures=(),
                locked_until=None,
                sessions=state.sessions | {event.session_id},
                last_totp_step=max(state.last_totp_step, event.totp_step or -1),
            )
        case SessionEnded():
            return msgspec.structs.replace(state, sessions=state.sessions - {event.session_id})
        case TotpEnrolled():
            return msgspec.structs.replace(state, totp_secret=event.secret, totp_enabled=False)
        case TotpResealed():
            return msgspec.structs.replace(state, totp_secret=event.secret)
        case TotpEnabled():
            return msgspec.structs.replace(
                state, totp_enabled=True, recovery_hashes=frozenset(event.recovery_hashes)
            )
        case TotpDisabled():
            return msgspec.structs.replace(
                state, totp_secret=None, totp_enabled=False, recovery_hashes=frozenset()
            )
        case RecoveryCodeUsed():
            return msgspec.structs.replace(
                state, recovery_hashes=state.recovery_hashes - {event.code_hash}
            )
        case _:
            return state


def fold(user_id: str, events: Iterable[Event]) -> UserState:
    state = UserState(user_id=user_id)
    for event in events:
        state = evolve(state, event)
    return state


def decide_create(state: UserState, command: CreateUser) -> list[Event]:
    if state.exists:
        raise AlreadyExists(f"a user {command.email!r} already exists")
    if not command.password_hash.startswith("$argon2"):
        raise InvalidCommand("a password must be stored as an argon2 hash")
    return [
        UserCreated(
            user_id=normalise_email(command.email),
            email=command.email.strip(),
            password_hash=command.password_hash,
            role=command.role,
        )
    ]


def decide_sign_in(state: UserState, command: SignIn) -> list[Event]:
    """A session when the password matched and the account is not locked; else the failure,
    and a lockout once MAX_FAILURES failures fall within FAILURE_WINDOW."""
    if not state.exists:
        raise NotFound(f"no user {command.email!r}")
    now = datetime.fromisoformat(command.at)
    failed = LoginFailed(
        email=state.email, reason="wrong password", at=command.at, remote=command.remote
    )
    if not command.password_matched or _locked(state, now):
        return _refused(state, failed, now)
    session = SessionStarted(
        user_id=state.user_id,
        session_id=command.session_id,
        secret_hash=command.secret_hash,
        at=command.at,
        expires_at=(now + SESSION_LIFETIME).isoformat(),
        remote=command.remote,
    )
    if not state.totp_enabled:
        return [session]
    wrong_code = msgspec.structs.replace(failed, reason="wrong code")
    match command.code_kind:
        case None:
            raise SecondFactorNeeded("this account needs a code from its authenticator app")
        case "totp":
            step = command.totp_step
            if step is None or step <= state.last_totp_step:  # wrong, or used already
                return _failure(state, wrong_code, now)
            return [msgspec.structs.replace(session, second_factor="totp", totp_step=step)]
        case "recovery":
            if command.recovery_hash not in state.recovery_hashes:
                return _failure(state, wrong_code, now)
            assert command.recovery_hash is not None
            return [
                msgspec.structs.replace(session, second_factor="recovery"),
                RecoveryCodeUsed(user_id=state.user_id, code_hash=command.recovery_hash),
            ]
    raise AssertionError(f"unknown code kind {command.code_kind!r}")


def decide_unknown_sign_in(state: UserState, command: SignIn) -> list[Event]:
    """An attempt on an address with no account, refused as a wrong password is: a failure,
    a lockout once MAX_FAILURES fall within FAILURE_WINDOW, and "locked" until it ends, so the
    answers do not tell which addresses have an account. `state` is what the service remembers
    of the address (folded from these events), as nothing exists to record it against."""
    if state.exists:
        raise InvalidCommand(f"{command.email!r} has an account")
    failed = LoginFailed(
        email=command.email, reason="unknown email", at=command.at, remote=command.remote
    )
    return _refused(state, failed, datetime.fromisoformat(command.at))


def _locked(state: UserState, now: datetime) -> bool:
    return state.locked_until is not None and now < datetime.fromisoformat(state.locked_until)


def _refused(state: UserState, failed: LoginFailed, now: datetime) -> list[Event]:
    """While a lockout lasts, a "locked" failure; else the failure, and maybe a lockout."""
    if _locked(state, now):
        return [msgspec.structs.replace(failed, reason="locked")]
    return _failure(state, failed, now)


def _failure(state: UserState, failed: LoginFailed, now: datetime) -> list[Event]:
    """The failure, and a lockout once MAX_FAILURES of them fall within FAILURE_WINDOW."""
    recent = [t for t in state.failures if now - datetime.fromisoformat(t) < FAILURE_WINDOW]
    if len(recent) + 1 < MAX_FAILURES:
        return [failed]
    until = (now + LOCKOUT).isoformat()
    return [failed, UserLockedOut(user_id=state.user_id, until=until, failures=len(recent) + 1)]


def decide_revoke(state: UserState, command: RevokeSession) -> list[Event]:
    if not state.exists:
        raise NotFound(f"no user {command.user_id!r}")
    if command.session_id not in state.sessions:
        raise NotFound(f"{command.user_id} has no open session {command.session_id!r}")
    return [SessionEnded(user_id=state.user_id, session_id=command.session_id, reason="revoked")]


TotpCommand = EnrollTotp | ConfirmTotp | DisableTotp | ResealTotp


def decide_totp(state: UserState, command: TotpCommand) -> list[Event]:
    if not state.exists:
        raise NotFound(f"no user {command.user_id!r}")
    match command:
        case EnrollTotp():
            if state.totp_enabled:
                raise InvalidCommand("a second factor is on already: turn it off first")
            return [TotpEnrolled(user_id=state.user_id, secret=command.secret)]
        case ConfirmTotp():
            if state.totp_secret is None or state.totp_enabled:
                raise InvalidCommand("there is no second factor waiting to be confirmed")
            if command.totp_step is None:
                raise InvalidCommand(
                    "that code does not match: check the device's clock", field="code"
                )
            return [TotpEnabled(user_id=state.user_id, recovery_hashes=command.recovery_hashes)]
        case DisableTotp():
            if state.totp_secret is None:
                return []
            return [TotpDisabled(user_id=state.user_id)]
        case ResealTotp():
            if state.totp_secret in (None, command.secret):
                return []
            return [TotpResealed(user_id=state.user_id, secret=command.secret)]
    raise TypeError(f"not a second-factor command: {type(command).__name__}")


def decide_end_session(state: UserState, command: EndSession) -> list[Event]:
    if command.session_id not in state.sessions:
        return []  # ended already: signing out twice is fine
    return [
        SessionEnded(user_id=state.user_id, session_id=command.session_id, reason=command.reason)
    ]
