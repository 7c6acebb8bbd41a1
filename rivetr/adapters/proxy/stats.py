"""What the proxy counts of the traffic it forwards, for /metrics: requests by app and the status
the client got, and how long each took by app. Plain dicts of counters updated on the event loop
that serves the requests, so a request pays a few dictionary operations and no lock."""

from __future__ import annotations

from rivetr.adapters.histograms import Histogram


class ProxyStats:
    __slots__ = ("latency", "requests")

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}  # (app, status) -> requests answered
        self.latency: dict[str, Histogram] = {}  # app -> seconds from its head to its answer

    def observe(self, app: str, status: int, seconds: float) -> None:
        key = (app, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        histogram = self.latency.get(app)
        if histogram is None:
            histogram = self.latency[app] = Histogram()
        histogram.observe(seconds)
