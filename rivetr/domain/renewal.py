"""When a certificate is ordered again: in the window its CA advises (ACME ARI) when it does,
else once a third of its lifetime is left (Let's Encrypt's advice); at a time spread over a
window so that many renewals do not hit the CA at once, and after a failure only after a
growing pause."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

# pauses after 1, 2, 3, 4+ failures in a row
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=10),
    timedelta(minutes=100),
    timedelta(days=1),
)
SPREAD = 0.05  # of the lifetime: renewals are spread over this much after the due time


# names no public CA certifies: special-use (RFC 2606, 6761, 6762, 8375, 9476), ICANN's private
# `.internal`, and the ones home and office networks use without a delegation
PRIVATE_SUFFIXES = (
    "test",
    "example",
    "invalid",
    "localhost",
    "local",
    "internal",
    "alt",
    "home.arpa",
    "lan",
    "home",
    "corp",
)


def publicly_certifiable(host: str) -> bool:
    """Whether a public CA could certify `host`: a dotted name outside the private suffixes,
    not an address (Let's Encrypt orders no IP certificates by HTTP-01 here)."""
    name = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(name.strip("[]"))
        return False
    except ValueError:
        pass
    if "." not in name:  # one label: localhost, or an intranet's short name
        return False
    return not any(name == s or name.endswith("." + s) for s in PRIVATE_SUFFIXES)


def renewal_due(not_before: datetime, not_after: datetime, spread: float) -> datetime:
    """When a certificate valid from `not_before` to `not_after` should be renewed; `spread`
    in [0, 1) picks a point in the window (the caller draws it once per certificate)."""
    lifetime = not_after - not_before
    due = not_after - lifetime / 3
    return due + lifetime * SPREAD * spread


def advised_renewal(window_start: datetime, window_end: datetime, spread: float) -> datetime:
    """The point to renew at in the window a CA advised (ACME ARI): uniformly spread over it,
    as RFC 9773 asks, by the same per-certificate draw."""
    return window_start + max(window_end - window_start, timedelta(0)) * spread


def retry_after(last_failure: datetime, failures: int) -> datetime:
    """When to try again after `failures` failures in a row, the last at `last_failure`."""
    pause = BACKOFF[min(max(failures, 1), len(BACKOFF)) - 1]
    return last_failure + pause
