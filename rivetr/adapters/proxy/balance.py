"""Balancing a route over several replicas: which member takes each request (round robin, or
least connections with ties taken in turn), and passive health (a member whose connection fails
is taken out for a while: 2 s, doubling up to 30 s while it keeps failing).

Bookkeeping only, with no I/O and no clock (the caller passes the loop's time), so the choice
and the ejections are tested on their own; `client.py` calls it as requests start and end."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rivetr.adapters.proxy.route_kinds import Balanced

Address = tuple[str, int]
Outcome = Literal["taken_out", "kept_out", "already_out"]

FIRST_EJECTION_S = 2.0
LONGEST_EJECTION_S = 30.0


class Group:
    """A balanced route as the proxy keeps it: its members' addresses and whose turn is next.
    Made when the table is replaced (the route itself is frozen), so a new table starts the
    turns over."""

    __slots__ = ("addresses", "least", "members", "route", "turn")

    def __init__(self, route: Balanced) -> None:
        self.route = route
        self.members = route.members
        self.addresses: tuple[Address, ...] = tuple((m.host, m.port) for m in route.members)
        self.least = route.strategy == "least_connections"
        self.turn = 0  # where the next search for a member starts


class Ejection:
    """An address taken out: since when (this time), until when, and since when it has been
    failing (the outage, which may span several ejections)."""

    __slots__ = ("began", "since", "until", "wait")

    def __init__(self, began: float, now: float, wait: float) -> None:
        self.began = began
        self.since = now
        self.wait = wait
        self.until = now + wait


class Balancer:
    """What the proxy knows of every balanced address: the requests in flight there, and
    whether it is taken out. One for all routes, since an address may serve several domains."""

    __slots__ = ("in_flight", "listed", "out")

    def __init__(self, listed: set[Address] | None = None) -> None:
        self.in_flight: dict[Address, int] = {}
        self.out: dict[Address, Ejection] = {}
        self.listed: set[Address] = set(listed or ())  # what the route table lists

    def choose(self, group: Group, now: float, tried: tuple[Address, ...] = ()) -> int | None:
        """The index of the member a request goes to, or None once it has tried them all.

        Members taken out are passed over while another remains; when every untried member
        is out, the one taken out longest ago is tried anyway: it may be back, where a 502
        is a certain failure."""
        addresses = group.addresses
        count = len(addresses)
        start = group.turn
        if not (tried or self.out or group.least):  # the common case: each in turn
            index = start if start < count else 0
            group.turn = index + 1
            return index
        out = self.out
        in_flight = self.in_flight
        best = fallback = -1
        best_load = 0
        fallback_since = math.inf
        for step in range(count):
            index = (start + step) % count
            address = addresses[index]
            if address in tried:
                continue
            ejection = out.get(address)
            if ejection is not None and ejection.until > now:
                if ejection.since < fallback_since:
                    fallback, fallback_since = index, ejection.since
                continue
            if not group.least:
                best = index
                break
            # the first least loaded from where the turn stands: ties go round in turn
            load = in_flight.get(address, 0)
            if best < 0 or load < best_load:
                best, best_load = index, load
                if not load:
                    break
        if best < 0:
            best = fallback
            if best < 0:
                return None
        group.turn = best + 1
        return best

    def enter(self, address: Address) -> None:
        in_flight = self.in_flight
        in_flight[address] = in_flight.get(address, 0) + 1

    def leave(self, address: Address) -> None:
        held = self.in_flight[address] - 1
        if held:
            self.in_flight[address] = held
        else:
            del self.in_flight[address]

    def failed(self, address: Address, now: float) -> Outcome:
        """A connection to `address` failed: take it out, for twice as long as last time if it
        failed again as soon as it was back. A failure while it is out is a request that chose
        it before: it changes nothing, so a burst of them does not stretch the wait."""
        ejection = self.out.get(address)
        if ejection is None:
            self.out[address] = Ejection(now, now, FIRST_EJECTION_S)
            return "taken_out"
        if ejection.until > now:
            return "already_out"
        wait = min(ejection.wait * 2, LONGEST_EJECTION_S)
        self.out[address] = Ejection(ejection.began, now, wait)
        return "kept_out"

    def connected(self, address: Address) -> Ejection | None:
        """A connection to `address` was made: it is back, if it was out (the outage ended)."""
        return self.out.pop(address, None)

    def is_out(self, address: Address, now: float) -> bool:
        ejection = self.out.get(address)
        return ejection is not None and ejection.until > now

    def forget_except(self, keep: set[Address]) -> None:
        """The route table now lists `keep`: forget the ejections of addresses it no longer
        lists, and of those it lists afresh (a task the orchestrator found healthy again, or
        one a request of the old table failed on after it was dropped), which start with a
        clean slate; one listed throughout keeps what requests found of it, fresher than the
        orchestrator's last check. The counts in flight stay: they end with their requests."""
        previous, self.listed = self.listed, set(keep)
        for address in [a for a in self.out if a not in keep or a not in previous]:
            del self.out[address]
