"""Which member of a balanced route takes a request, and how members that fail are taken out
and come back: the bookkeeping alone, with the time passed in."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.adapters.proxy import Balanced, Upstream
from rivetr.adapters.proxy.balance import Balancer, Group

A, B, C = (("10.0.0.1", 8000 + n) for n in range(3))


def group(*addresses: tuple[str, int], strategy: str = "round_robin") -> Group:
    members = tuple(Upstream("shop", host, port, "d1") for host, port in addresses)
    return Group(Balanced("shop", "d1", members, strategy))  # type: ignore[arg-type]


def pick(
    balancer: Balancer, route: Group, now: float = 0.0, tried: tuple[tuple[str, int], ...] = ()
) -> tuple[str, int]:
    index = balancer.choose(route, now, tried)
    assert index is not None
    return route.addresses[index]


def picks(balancer: Balancer, route: Group, times: int, now: float = 0.0) -> list[tuple[str, int]]:
    return [pick(balancer, route, now) for _ in range(times)]


def test_round_robin_gives_each_member_its_turn() -> None:
    assert picks(Balancer(), group(A, B, C), 7) == [A, B, C, A, B, C, A]


def test_a_one_member_route_always_chooses_it_even_while_it_is_out() -> None:
    balancer, route = Balancer(), group(A)
    balancer.failed(A, now=0.0)

    assert picks(balancer, route, 3, now=1.0) == [A, A, A]
    assert balancer.choose(route, 1.0, tried=(A,)) is None  # nothing else to try


def test_a_member_taken_out_is_passed_over_and_the_others_share_evenly() -> None:
    balancer, route = Balancer(), group(A, B, C)
    assert balancer.failed(B, now=10.0) == "taken_out"

    assert Counter(picks(balancer, route, 10, now=10.5)) == {A: 5, C: 5}
    assert balancer.is_out(B, 11.9)
    assert not balancer.is_out(B, 12.0)
    assert set(picks(balancer, route, 3, now=12.0)) == {A, B, C}  # back after 2 s


def test_a_member_that_keeps_failing_waits_twice_as_long_each_time_up_to_30_s() -> None:
    balancer = Balancer()
    now, waits = 0.0, []
    for _ in range(7):
        balancer.failed(A, now)
        ejection = balancer.out[A]
        waits.append(ejection.wait)
        now = ejection.until  # tried again the moment it is back, and fails again

    assert waits == [2, 4, 8, 16, 30, 30, 30]
    assert balancer.out[A].began == 0.0  # one outage, however many ejections


def test_failures_while_out_do_not_stretch_the_wait() -> None:
    balancer = Balancer()
    assert balancer.failed(A, 0.0) == "taken_out"
    # requests that chose it before it was taken out fail now, one after another
    assert [balancer.failed(A, t) for t in (0.1, 0.5, 1.9)] == ["already_out"] * 3
    assert balancer.out[A].until == 2.0
    assert balancer.failed(A, 2.5) == "kept_out"


def test_a_connection_made_ends_the_outage_and_the_next_failure_starts_over() -> None:
    balancer = Balancer()
    balancer.failed(A, 0.0)
    balancer.failed(A, 3.0)

    ejection = balancer.connected(A)
    assert ejection is not None
    assert ejection.began == 0.0
    assert balancer.connected(A) is None  # it was not out any more
    balancer.failed(A, 100.0)
    assert balancer.out[A].wait == 2.0


def test_when_every_member_is_out_the_one_out_longest_is_tried() -> None:
    balancer, route = Balancer(), group(A, B, C)
    balancer.failed(B, 1.0)
    balancer.failed(A, 1.5)
    balancer.failed(C, 2.0)

    assert picks(balancer, route, 2, now=2.5) == [B, B]
    assert pick(balancer, route, 2.5, tried=(B,)) == A


def test_a_request_never_goes_back_to_a_member_that_failed_it() -> None:
    balancer, route = Balancer(), group(A, B, C)

    assert pick(balancer, route, tried=(A, B)) == C
    assert balancer.choose(route, 0.0, tried=(A, B, C)) is None


def test_least_connections_prefers_the_idle_member_and_takes_ties_in_turn() -> None:
    balancer, route = Balancer(), group(A, B, C, strategy="least_connections")
    balancer.enter(A)
    balancer.enter(A)
    balancer.enter(B)

    assert picks(balancer, route, 3) == [C, C, C]
    balancer.enter(C)
    balancer.enter(C)
    assert picks(balancer, route, 1) == [B]  # 2, 1, 2
    balancer.leave(A)
    balancer.leave(A)
    balancer.leave(B)
    balancer.leave(C)
    balancer.leave(C)
    assert balancer.in_flight == {}  # counts that reach zero are dropped
    assert picks(balancer, route, 6) == [C, A, B, C, A, B]  # all idle: each in turn


def test_least_connections_passes_over_a_member_taken_out_however_idle() -> None:
    balancer, route = Balancer(), group(A, B, strategy="least_connections")
    balancer.enter(B)
    balancer.failed(A, 0.0)

    assert picks(balancer, route, 2, now=1.0) == [B, B]


def test_ejections_of_addresses_the_table_drops_or_lists_afresh_are_forgotten() -> None:
    balancer = Balancer(listed={A, B, C})
    balancer.failed(A, 0.0)
    balancer.failed(B, 0.0)
    balancer.enter(A)

    balancer.forget_except({B, C})

    assert set(balancer.out) == {B}  # B stays listed: what requests found of it stands
    assert balancer.in_flight == {A: 1}  # ends with its request, not with the table
    balancer.failed(A, 0.5)  # a request of the old table, failing on A after it was dropped
    balancer.forget_except({A, B, C})
    assert set(balancer.out) == {B}  # A listed afresh: a clean slate


@given(
    loads=st.lists(st.integers(0, 5), min_size=1, max_size=6),
    out=st.lists(st.booleans(), min_size=6, max_size=6),
    turn=st.integers(0, 10),
)
def test_least_connections_chooses_a_least_loaded_member_of_those_not_out(
    loads: list[int], out: list[bool], turn: int
) -> None:
    addresses = [("10.0.0.9", 9000 + n) for n in range(len(loads))]
    balancer, route = Balancer(), group(*addresses, strategy="least_connections")
    route.turn = turn
    for address, load, taken_out in zip(addresses, loads, out, strict=False):
        for _ in range(load):
            balancer.enter(address)
        if taken_out:
            balancer.failed(address, 0.0)

    index = balancer.choose(route, 1.0)

    assert index is not None
    eligible = [n for n in range(len(loads)) if not out[n]]
    if eligible:
        assert not out[index]
        assert loads[index] == min(loads[n] for n in eligible)
    assert route.turn == index + 1


@pytest.mark.parametrize(
    ("members", "strategy", "message"),
    [
        ((), "round_robin", "has no members"),
        ((Upstream("shop", *A, "d1"),), "random", "strategy 'random'"),
        ((Upstream("shop", *A, "d1"), Upstream("shop", *A, "d2")), "round_robin", "twice"),
        ((Upstream("blog", *A, "d1"),), "round_robin", "members of ['blog']"),
    ],
)
def test_a_balanced_route_that_cannot_work_is_refused_when_it_is_made(
    members: tuple[Upstream, ...], strategy: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Balanced("shop", "d1", members, strategy)  # type: ignore[arg-type]
