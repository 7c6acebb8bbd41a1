"""The head signal wakes every waiter on a move, and polls for other processes' commits once an
interval however many wait (each reactor follows the log: a poll each would be the idle CPU)."""

from __future__ import annotations

import asyncio

import pytest

from rivetr.adapters.eventstore.following import HeadSignal

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Log:
    """The head another process moves, and how often it was asked."""

    def __init__(self) -> None:
        self.head = 0
        self.asked = 0
        self.failure: Exception | None = None

    async def poll(self) -> int:
        self.asked += 1
        if self.failure is not None:
            raise self.failure
        return self.head


async def test_twelve_waiters_share_one_poll_an_interval() -> None:
    log = Log()
    signal = HeadSignal(log.poll, poll_interval=0.05)
    waiters = [asyncio.create_task(signal.wait_beyond(0)) for _ in range(12)]
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    timers = [timer for timer in loop._scheduled if not timer.cancelled()]  # type: ignore[attr-defined]
    assert len(timers) == 1  # the poller's; the waiters wait on the event alone
    await asyncio.sleep(0.25)  # five intervals
    assert 3 <= log.asked <= 6  # not 12 a round
    log.head = 7  # a commit by another process
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [7] * 12


async def test_a_move_in_this_process_wakes_waiters_at_once() -> None:
    log = Log()
    signal = HeadSignal(log.poll, poll_interval=3600)
    waiter = asyncio.create_task(signal.wait_beyond(3))
    await asyncio.sleep(0)
    signal.advance(2)  # not beyond 3 yet
    await asyncio.sleep(0)
    assert not waiter.done()
    signal.advance(4)
    assert await asyncio.wait_for(waiter, 1) == 4
    assert log.asked == 0


async def test_a_timeout_returns_the_head_it_has() -> None:
    signal = HeadSignal(Log().poll, poll_interval=3600)
    assert await signal.wait_beyond(0, timeout=0.01) == 0


async def test_nobody_waiting_leaves_no_timer() -> None:
    log = Log()
    signal = HeadSignal(log.poll, poll_interval=0.01)
    await signal.wait_beyond(0, timeout=0.03)
    asked = log.asked
    await asyncio.sleep(0.05)
    assert log.asked == asked
    assert signal._poller is None


async def test_a_failing_poll_reaches_every_waiter_and_the_next_wait_polls_again() -> None:
    log = Log()
    log.failure = OSError("disk I/O error")
    signal = HeadSignal(log.poll, poll_interval=0.01)
    outcomes = await asyncio.gather(
        signal.wait_beyond(0), signal.wait_beyond(0), return_exceptions=True
    )
    assert [type(outcome) for outcome in outcomes] == [OSError, OSError]
    log.failure, log.head = None, 5
    assert await asyncio.wait_for(signal.wait_beyond(0), 1) == 5
