"""One scrape of /metrics: who may have it (a bearer token, or the separate address that needs
none), and every family, recorded and live, rendered in one text."""

from __future__ import annotations

import hmac
from pathlib import Path

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.histograms import Histogram
from rivetr.adapters.host import HostProbe
from rivetr.adapters.proxy.stats import ProxyStats
from rivetr.domain.errors import DomainError, NotFound
from rivetr.projections.registry import ReadModel
from rivetr.service.metrics import live, recorded
from rivetr.service.metrics.control_plane import control_plane_backups
from rivetr.service.metrics.exposition import render
from rivetr.service.reactors.hub import EventHub
from rivetr.service.reactors.resources import ResourceSampler


class MetricsOff(NotFound):
    title = "Not Found"


class MetricsTokenRefused(DomainError):
    title = "Unauthorized"
    status = 401


class Metrics:
    def __init__(
        self,
        *,
        read: ReadModel,
        store: EventStore,
        append_latency: Histogram | None,
        proxy: ProxyStats,
        hub: EventHub,
        resources: ResourceSampler,
        host: HostProbe,
        data_dir: Path,
        clock: Clock,
        token: str | None,
    ) -> None:
        self.read = read
        self.store = store
        self.append_latency = append_latency
        self.proxy = proxy
        self.hub = hub
        self.resources = resources
        self.host = host
        self.data_dir = data_dir
        self.clock = clock
        self.token = token
        self.deployments = recorded.Deployments()  # keeps what only changes when one ends

    def check(self, authorization: str | None) -> None:
        """Whether a request to /metrics on the API's address, with this Authorization header,
        may have them.

        Raises:
            MetricsOff: no metrics_token is set: the API's address does not serve them.
            MetricsTokenRefused: no bearer token, or not the one set.
        """
        if self.token is None:
            raise MetricsOff("metrics are not served here: set metrics_token (or metrics_listen)")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise MetricsTokenRefused("send the metrics token: Authorization: Bearer <token>")
        # constant time: how much of a guess matched must not show in how long it took
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise MetricsTokenRefused("the metrics token is not the one set")

    async def render(self) -> str:
        read = self.read
        families = [
            *await recorded.apps(read),
            *await self.deployments.families(read),
            *await recorded.webhooks(read),
            *await recorded.backups(read, self.clock.now()),
            *await control_plane_backups(self.store, self.clock.now()),
            *await recorded.certificates(read),
            *live.proxy(self.proxy),
            *live.event_log(self.data_dir, await self.store.head(), self.append_latency),
            *live.sse(len(self.hub.subscriptions)),
            *live.containers(self.resources.latest()),
            *live.host(self.host),
        ]
        return render(families)
