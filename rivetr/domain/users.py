"""The User aggregate: an account, its sign-ins and sessions, and the lockout that slows down
password guessing. Pure: the service passes in the clock's reading and whether the password
matched (hashing is I/O-heavy work done outside)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from rivetr.domain.commands import CreateUser
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    Event,
    LoginFailed,
    SessionEnded,
    SessionStarted,
    UserCreated,
    UserLockedOut,
    UserRole,
)

MAX_FAILURES = 5  # failed sign-ins in a row, within FAILURE_WINDOW, before a lockout
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(days=7)


class SignIn(msgspec.Struct, frozen=True, kw_only=True):
    """A sign-in attempt as the service checked it: whether the password matched, and the
    session to start if it did. Not a command: nobody is signed in yet to authorise it."""

    email: str
    password_matched: bool
    at: str  # ISO 8601, UTC: the clock's reading, passed in to keep the domain pure
    session_id: str
    secret_hash: str
    remote: str | None = None


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
        case LoginFailed() if event.reason == "wrong password":
            return msgspec.structs.replace(state, failures=(*state.failures, event.at))
        case UserLockedOut():
            return msgspec.structs.replace(state, locked_until=event.until, failures=())
        case SessionStarted():
            return msgspec.structs.replace(
                state, failures=(), locked_until=None, sessions=state.sessions | {event.session_id}
            )
        case SessionEnded():
            return msgspec.structs.replace(state, sessions=state.sessions - {event.session_id})
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
    if state.locked_until is not None and now < datetime.fromisoformat(state.locked_until):
        return [msgspec.structs.replace(failed, reason="locked")]
    if not command.password_matched:
        recent = [t for t in state.failures if now - datetime.fromisoformat(t) < FAILURE_WINDOW]
        if len(recent) + 1 < MAX_FAILURES:
            return [failed]
        until = (now + LOCKOUT).isoformat()
        return [failed, UserLockedOut(user_id=state.user_id, until=until, failures=len(recent) + 1)]
    return [
        SessionStarted(
            user_id=state.user_id,
            session_id=command.session_id,
            secret_hash=command.secret_hash,
            at=command.at,
            expires_at=(now + SESSION_LIFETIME).isoformat(),
            remote=command.remote,
        )
    ]


def decide_end_session(state: UserState, command: EndSession) -> list[Event]:
    if command.session_id not in state.sessions:
        return []  # ended already: signing out twice is fine
    return [
        SessionEnded(user_id=state.user_id, session_id=command.session_id, reason=command.reason)
    ]
