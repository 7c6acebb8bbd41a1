"""Where a visitor reaches an app: a link for each of its domains, https when a certificate
serves that host, and the proxy's port when it is not the scheme's own."""

from __future__ import annotations

from collections.abc import Iterable

from rivetr.config import Settings
from rivetr.domain.settings import host_of
from rivetr.projections.certificates import CertificateView


def visit_links(
    domains: Iterable[str], certificates: Iterable[CertificateView], settings: Settings
) -> list[tuple[str, str]]:
    """(domain, URL) for each domain a browser can open: a wildcard names no one host."""
    secured = {c.domain for c in certificates if c.source is not None}
    links = []
    for domain in domains:
        host = host_of(domain)
        if host.startswith("*."):
            continue
        if host in secured:
            scheme, port, usual = "https", settings.proxy_https_port, 443
        else:
            scheme, port, usual = "http", settings.proxy_http_port, 80
        shown = host if port == usual else f"{host}:{port}"
        links.append((domain, f"{scheme}://{shown}{domain[len(host) :]}"))
    return links
