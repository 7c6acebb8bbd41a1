"""The reverse proxy: routes each request by its Host (and path prefix) to the app's live release.

Connections are asyncio protocols (`client.py`, `upstream.py`) fed by httptools' callbacks, so
a request costs no task, stream or coroutine of its own: each parsed piece is written on at once.
Bodies stream both ways; connections to upstreams are kept alive and reused; `Upgrade`
(WebSocket) connections are spliced through after the upstream's 101. The route table is
swapped whole (one assignment), so a request sees either the old release or the new one:
requests already in flight keep their upstream connection and finish there, new ones go to the
new release. An unknown host gets a 404 page; an upstream that does not answer gets a 502 page
naming the app, never a hang. A `Balanced` route spreads its requests over its members and
sends a request a member failed to another (`balance.py` chooses). Each connection's one timer
bounds how long the proxy waits on a client; `limits.py` says how much, and how many
connections it admits."""

from __future__ import annotations

import asyncio
import html
import logging
import ssl
from collections.abc import Callable

from rivetr.adapters.proxy.balance import Balancer, Group
from rivetr.adapters.proxy.client import ClientConnection, Request
from rivetr.adapters.proxy.http import answer, page, redirect
from rivetr.adapters.proxy.limits import Admission, ProxyLimits
from rivetr.adapters.proxy.routes import Parked, RouteTable, Upstream, hostname
from rivetr.adapters.proxy.stats import ProxyStats
from rivetr.adapters.proxy.upstream import Pool

log = logging.getLogger(__name__)

CHALLENGE_PREFIX = b"/.well-known/acme-challenge/"
LISTEN_BACKLOG = 1024  # the kernel caps it at net.core.somaxconn


class ProxyServer:
    def __init__(
        self,
        routes: RouteTable,
        *,
        challenge: Callable[[str], str | None] | None = None,
        secured: Callable[[str], bool] | None = None,
        limits: ProxyLimits | None = None,
    ) -> None:
        self.routes = routes
        self.challenge = challenge  # token -> key authorization, for ACME HTTP-01
        self.secured = secured  # host -> whether it has a certificate: plain HTTP redirects
        self.pool = Pool()
        # balanced routes: requests in flight per member, and the members taken out
        self.balancer = Balancer(listed=routes.addresses())
        self.in_flight = 0
        self.stats = ProxyStats()  # what /metrics reports of the traffic
        self.limits = limits or ProxyLimits()
        self.admission = Admission(self.limits)

    def routes_changed(self) -> None:
        """Called after each `routes.replace`: forget what was kept for addresses no route
        lists any more (idle connections, ejections)."""
        addresses = self.routes.addresses()
        self.pool.forget_except(addresses)
        self.balancer.forget_except(addresses)

    def member_failed(self, member: Upstream, reason: str, now: float) -> None:
        """A member of a balanced route failed a connection: out of the choice for a while,
        counted, and logged once an outage rather than once a request."""
        outcome = self.balancer.failed((member.host, member.port), now)
        if outcome != "already_out":
            self.stats.ejected(member.app, member.host, member.port)
        if outcome == "taken_out":
            log.warning(
                "%s:%d, a replica of %s (release %s), is taken out of its route: %s",
                member.host,
                member.port,
                member.app,
                member.deployment_id,
                reason,
            )

    def member_connected(self, member: Upstream, now: float) -> None:
        """A connection to a member of a balanced route was made: back, if it was out."""
        ejection = self.balancer.connected((member.host, member.port))
        if ejection is not None:
            log.warning(
                "%s:%d, a replica of %s, answers again after %.1f s",
                member.host,
                member.port,
                member.app,
                now - ejection.began,
            )

    async def serve(
        self, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> asyncio.Server:
        scheme = "https" if tls is not None else "http"
        loop = asyncio.get_running_loop()
        return await loop.create_server(
            lambda: ClientConnection(self, scheme),
            host,
            port,
            ssl=tls,
            # the handshake is part of the head's time; asyncio's own default is 60 s
            ssl_handshake_timeout=self.limits.header_timeout_s if tls is not None else None,
            # asyncio's default queue of 100 unaccepted connections drops the SYNs of a burst
            # beyond it, and each dropped one waits 1 s or more for its resend (nginx: 511)
            backlog=LISTEN_BACKLOG,
        )

    def route(self, request: Request, scheme: str) -> None:
        """Decide where a request goes, from its head: to an upstream, or answered here (an ACME
        challenge, the redirect to HTTPS, the page for an unknown host)."""
        keep = request.keep_alive
        if request.url.startswith(CHALLENGE_PREFIX) and self.challenge is not None:
            key = self.challenge(request.url[len(CHALLENGE_PREFIX) :].decode("latin-1"))
            if key is None:
                request.answer = page(404, "Not found", "No such ACME challenge.", keep=keep)
            else:
                request.answer = answer(200, key.encode(), b"text/plain", keep=keep)
            return
        if scheme == "http" and self.secured is not None and self.secured(hostname(request.host)):
            location = b"https://" + request.host.encode("latin-1") + request.url
            request.answer = redirect(location, keep=keep)
            return
        target = self.routes.find(request.host, request.url)
        if isinstance(target, Upstream):
            request.upstream = target
        elif isinstance(target, Group):
            request.balance = target  # its member is chosen when the request starts
        elif isinstance(target, Parked):
            request.answer = page(
                503,
                "No running release",
                f"<b>{html.escape(target.app)}</b> has no running release: the site comes up once"
                " a deployment of it goes live.",
                keep=keep,
            )
        else:
            name = html.escape(request.host or "(none)")
            request.answer = page(
                404,
                "No application here",
                f"No application on this server answers to the host <b>{name}</b>.",
                keep=keep,
            )
