"""Sign-in decisions: a session when the password matched, failures counted, a lockout after
five in a row within fifteen minutes, lifted when it ends or by a successful sign-in after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import users
from rivetr.domain.commands import (
    ConfirmTotp,
    CreateUser,
    DisableTotp,
    EnrollTotp,
    RevokeSession,
)
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    Event,
    LoginFailed,
    RecoveryCodeUsed,
    SessionStarted,
    TotpEnrolled,
    UserLockedOut,
)
from rivetr.domain.users import EndSession, SecondFactorNeeded, SignIn

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


def created() -> users.UserState:
    [event] = users.decide_create(
        users.UserState(user_id="ann@example.com"),
        CreateUser(email="Ann@Example.com", password_hash=HASH, role="owner"),
    )
    return users.evolve(users.UserState(user_id="ann@example.com"), event)


def attempt(
    state: users.UserState, ok: bool, at: datetime, **code: object
) -> tuple[users.UserState, list[Event]]:
    """Sign in (with a second factor's `code_kind` and what it matched, if given)."""
    command = SignIn(
        email="ann@example.com",
        password_matched=ok,
        at=at.isoformat(),
        session_id=f"s{at.timestamp():.0f}",
        secret_hash="ab" * 32,
        **code,  # type: ignore[arg-type]
    )
    events = users.decide_sign_in(state, command)
    for event in events:
        state = users.evolve(state, event)
    return state, events


def tags(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_an_account_is_keyed_by_its_normalised_address_and_keeps_a_hash_only() -> None:
    state = created()
    assert (state.user_id, state.email, state.role) == (
        "ann@example.com",
        "Ann@Example.com",
        "owner",
    )
    with pytest.raises(AlreadyExists):
        users.decide_create(state, CreateUser(email="ann@example.com", password_hash=HASH))
    with pytest.raises(InvalidCommand, match="argon2"):
        users.decide_create(
            users.UserState(user_id="b@x"), CreateUser(email="b@x", password_hash="plain")
        )


def test_a_matching_password_starts_a_session_for_seven_days() -> None:
    state, events = attempt(created(), True, T0)

    assert tags(events) == ["SessionStarted"]
    assert events[0].expires_at == (T0 + timedelta(days=7)).isoformat()
    assert state.sessions == {events[0].session_id}


def test_five_failures_in_a_row_lock_the_account_even_against_the_right_password() -> None:
    state = created()
    for minute in range(4):
        state, events = attempt(state, False, T0 + timedelta(minutes=minute))
        assert tags(events) == ["LoginFailed"]

    state, events = attempt(state, False, T0 + timedelta(minutes=4))
    assert tags(events) == ["LoginFailed", "UserLockedOut"]
    assert events[1].until == (T0 + timedelta(minutes=19)).isoformat()

    state, events = attempt(state, True, T0 + timedelta(minutes=10))
    assert tags(events) == ["LoginFailed"]
    assert events[0].reason == "locked"

    state, events = attempt(state, True, T0 + timedelta(minutes=20))  # the lockout ended
    assert tags(events) == ["SessionStarted"]
    assert state.failures == ()
    assert state.locked_until is None


def test_failures_spread_beyond_the_window_do_not_lock() -> None:
    state = created()
    for n in range(8):
        state, events = attempt(state, False, T0 + timedelta(minutes=5 * n))
        assert "UserLockedOut" not in tags(events)


def test_a_success_resets_the_count() -> None:
    state = created()
    for minute in range(4):
        state, _ = attempt(state, False, T0 + timedelta(minutes=minute))
    state, _ = attempt(state, True, T0 + timedelta(minutes=5))
    state, events = attempt(state, False, T0 + timedelta(minutes=6))
    assert tags(events) == ["LoginFailed"]


def test_signing_out_ends_the_session_once() -> None:
    state, [started] = attempt(created(), True, T0)
    command = EndSession(email="ann@example.com", session_id=started.session_id)

    [ended] = users.decide_end_session(state, command)
    state = users.evolve(state, ended)

    assert users.decide_end_session(state, command) == []


def test_an_unknown_user_cannot_sign_in() -> None:
    with pytest.raises(NotFound):
        attempt(users.UserState(user_id="x@y"), True, T0)


# --- the second factor --------------------------------------------------------------------------


def with_totp(recovery: tuple[str, ...] = ("r1" * 32,)) -> users.UserState:
    state = created()
    for command in (
        EnrollTotp(user_id="ann@example.com", secret="rvs1:k:seed"),
        ConfirmTotp(user_id="ann@example.com", totp_step=100, recovery_hashes=list(recovery)),
    ):
        for event in users.decide_totp(state, command):
            state = users.evolve(state, event)
    return state


def sign_in_with(
    state: users.UserState, at: datetime, **code: object
) -> tuple[users.UserState, list[Event]]:
    return attempt(state, True, at, **code)


def test_an_enrolled_but_unconfirmed_factor_is_not_asked_for() -> None:
    state = created()
    [enrolled] = users.decide_totp(state, EnrollTotp(user_id="ann@example.com", secret="s"))
    state = users.evolve(state, enrolled)
    _, events = sign_in_with(state, T0)
    assert [type(e) for e in events] == [SessionStarted]


def test_confirming_needs_a_matching_code() -> None:
    state = users.evolve(created(), TotpEnrolled(user_id="ann@example.com", secret="s"))
    with pytest.raises(InvalidCommand, match="does not match"):
        users.decide_totp(
            state, ConfirmTotp(user_id="ann@example.com", totp_step=None, recovery_hashes=[])
        )


def test_with_a_factor_the_right_password_alone_is_not_enough_and_records_nothing() -> None:
    with pytest.raises(SecondFactorNeeded):
        sign_in_with(with_totp(), T0)


def test_a_code_signs_in_once_and_never_again() -> None:
    state, events = sign_in_with(with_totp(), T0, code_kind="totp", totp_step=200)
    assert isinstance(events[0], SessionStarted)
    assert (events[0].second_factor, events[0].totp_step) == ("totp", 200)

    _, replayed = sign_in_with(state, T0 + timedelta(seconds=5), code_kind="totp", totp_step=200)
    assert [type(e) for e in replayed] == [LoginFailed]
    assert replayed[0].reason == "wrong code"


def test_wrong_codes_count_towards_the_lockout() -> None:
    state = with_totp()
    for n in range(5):
        state, events = sign_in_with(
            state, T0 + timedelta(seconds=n), code_kind="totp", totp_step=None
        )
    assert isinstance(events[-1], UserLockedOut)


def test_a_recovery_code_works_once() -> None:
    state, events = sign_in_with(with_totp(), T0, code_kind="recovery", recovery_hash="r1" * 32)
    assert [type(e) for e in events] == [SessionStarted, RecoveryCodeUsed]
    _, again = sign_in_with(state, T0, code_kind="recovery", recovery_hash="r1" * 32)
    assert [type(e) for e in again] == [LoginFailed]


def test_turning_the_factor_off_stops_asking_for_it() -> None:
    state = with_totp()
    [off] = users.decide_totp(state, DisableTotp(user_id="ann@example.com"))
    state = users.evolve(state, off)
    _, events = sign_in_with(state, T0)
    assert isinstance(events[0], SessionStarted)
    assert users.decide_totp(state, DisableTotp(user_id="ann@example.com")) == []


def test_revoking_a_session_that_is_not_open_is_not_found() -> None:
    state, _ = attempt(created(), True, T0)
    [ended] = users.decide_revoke(
        state, RevokeSession(user_id="ann@example.com", session_id=next(iter(state.sessions)))
    )
    assert ended.reason == "revoked"
    with pytest.raises(NotFound, match="no open session"):
        users.decide_revoke(state, RevokeSession(user_id="ann@example.com", session_id="nope"))


def unknown_attempt(state: users.UserState, at: datetime) -> tuple[users.UserState, list[Event]]:
    command = SignIn(
        email="Bob@Example.com",
        password_matched=False,
        at=at.isoformat(),
        session_id="s",
        secret_hash="ab" * 32,
    )
    events = users.decide_unknown_sign_in(state, command)
    for event in events:
        state = users.evolve(state, event)
    return state, events


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=20))
def test_an_unknown_address_is_refused_and_locked_out_as_a_wrong_password_is(
    gaps: list[int],
) -> None:
    known, unknown = created(), users.UserState(user_id="bob@example.com")
    at = T0
    for gap in gaps:
        at += timedelta(minutes=gap)
        known, for_known = attempt(known, False, at)
        unknown, for_unknown = unknown_attempt(unknown, at)

        assert tags(for_unknown) == tags(for_known)
        assert [getattr(e, "until", None) for e in for_unknown] == [
            getattr(e, "until", None) for e in for_known
        ]
        failure = for_unknown[0]
        assert isinstance(failure, LoginFailed)
        assert failure.reason == ("locked" if for_known[0].reason == "locked" else "unknown email")
        assert unknown.locked_until == known.locked_until


def test_an_address_with_an_account_is_not_decided_as_unknown() -> None:
    with pytest.raises(InvalidCommand, match="has an account"):
        unknown_attempt(created(), T0)
