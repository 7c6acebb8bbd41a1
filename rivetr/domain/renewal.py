"""When a certificate is ordered again: in the window its CA advises (ACME ARI) when it does,
else once a third of its lifetime is left (Let's Encrypt's advice); at a time spread over a
window so that many renewals do not hit the CA at once, and after a failure only after a
growing pause."""

from __future__ import annotations

from datetime import datetime, timedelta

# pauses after 1, 2, 3, 4+ failures in a row
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=10),
    timedelta(minutes=100),
    timedelta(days=1),
)
SPREAD = 0.05  # of the lifetime: renewals are spread over this much after the due time


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
