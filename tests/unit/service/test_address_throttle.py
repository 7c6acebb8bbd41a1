"""Sign-in attempts per address: ten a minute, then 429 until the oldest is a minute old."""

from __future__ import annotations

import pytest

from rivetr.service.commands.sign_in_limits import AddressThrottle, SignInRefused


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_eleventh_attempt_in_a_minute_waits_for_the_oldest_to_age() -> None:
    clock = Clock()
    throttle = AddressThrottle(limit=10, clock=clock)
    for second in range(10):
        clock.now = 1000.0 + second
        throttle.check("203.0.113.9")

    with pytest.raises(SignInRefused, match="try again in 51 s") as refused:
        throttle.check("203.0.113.9")
    assert refused.value.status == 429
    throttle.check("198.51.100.1")  # another address is not held back

    clock.now = 1060.0  # the first attempt is a minute old
    throttle.check("203.0.113.9")


def test_an_unknown_address_is_not_counted() -> None:
    throttle = AddressThrottle(limit=1, clock=Clock())
    throttle.check(None)
    throttle.check(None)
