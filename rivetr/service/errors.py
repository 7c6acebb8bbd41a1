"""What a service call may raise besides the domain's refusals, named here so that the web
answers it without knowing the adapter behind it: a change that lost a race with another
(the event store's optimistic concurrency check)."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import ConcurrencyError

__all__ = ["ConcurrencyError"]
