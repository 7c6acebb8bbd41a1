"""The reverse proxy: routes each request by its Host (and path prefix) to the app's live release.

Connections are asyncio protocols (`client.py`, `upstream.py`) fed by httptools' callbacks, so
a request costs no task, stream or coroutine of its own: each parsed piece is written on at once.
Bodies stream both ways; connections to upstreams are kept alive and reused; `Upgrade`
(WebSocket) connections are spliced through after the upstream's 101. The route table is
swapped whole (one assignment), so a request sees either the old release or the new one:
requests already in flight keep their upstream connection and finish there, new ones go to the
new release. An unknown host gets a 404 page; an upstream that does not answer gets a 502 page
naming the app, never a hang. Each connection's one timer bounds how long the proxy waits on
a client; `limits.py` says how much, and how many connections it admits."""

from __future__ import annotations

import asyncio
import html
import ssl
from collections.abc import Callable

from rivetr.adapters.proxy.client import ClientConnection, Request
from rivetr.adapters.proxy.http import answer, page, redirect
from rivetr.adapters.proxy.limits import Admission, ProxyLimits
from rivetr.adapters.proxy.routes import Parked, RouteTable, hostname
from rivetr.adapters.proxy.stats import ProxyStats
from rivetr.adapters.proxy.upstream import Pool

CHALLENGE_PREFIX = b"/.well-known/acme-challenge/"


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
        self.in_flight = 0
        self.stats = ProxyStats()  # what /metrics reports of the traffic
        self.limits = limits or ProxyLimits()
        self.admission = Admission(self.limits)

    def routes_changed(self) -> None:
        self.pool.forget_except(self.routes.addresses())

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
        route = self.routes.lookup(request.host, request.url)
        if isinstance(route, Parked):
            request.answer = page(
                503,
                "No running release",
                f"<b>{html.escape(route.app)}</b> has no running release: the site comes up once"
                " a deployment of it goes live.",
                keep=keep,
            )
            return
        request.upstream = route
        if request.upstream is None:
            name = html.escape(request.host or "(none)")
            request.answer = page(
                404,
                "No application here",
                f"No application on this server answers to the host <b>{name}</b>.",
                keep=keep,
            )
