"""What the proxy counts of the traffic it forwards, for /metrics: requests by app and the status
the client got, and how long each took by app; for balanced routes, requests by member address,
failovers and ejections. Plain dicts of counters updated on the event loop that serves the
requests, so a request pays a few dictionary operations and no lock."""

from __future__ import annotations

from rivetr.adapters.histograms import Histogram

Member = tuple[str, str, int]  # (app, host, port): one replica's address, under its app


class ProxyStats:
    __slots__ = ("ejections", "failovers", "latency", "members", "requests")

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}  # (app, status) -> requests answered
        self.latency: dict[str, Histogram] = {}  # app -> seconds from its head to its answer
        # balanced routes only: requests answered by each member (where a request that failed
        # over was answered), requests sent on to another member after one failed them, and
        # the times each member was taken out
        self.members: dict[Member, int] = {}
        self.failovers: dict[str, int] = {}
        self.ejections: dict[Member, int] = {}

    def observe(self, app: str, status: int, seconds: float) -> None:
        key = (app, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        histogram = self.latency.get(app)
        if histogram is None:
            histogram = self.latency[app] = Histogram()
        histogram.observe(seconds)

    def answered_by(self, app: str, host: str, port: int) -> None:
        key = (app, host, port)
        members = self.members
        members[key] = members.get(key, 0) + 1

    def failed_over(self, app: str) -> None:
        self.failovers[app] = self.failovers.get(app, 0) + 1

    def ejected(self, app: str, host: str, port: int) -> None:
        key = (app, host, port)
        self.ejections[key] = self.ejections.get(key, 0) + 1
