"""What a service call may raise besides the domain's refusals, named here so that the web
answers it without knowing the adapter behind it: a change that lost a race with another
(the event store's optimistic concurrency check), a disk that refused it, and a change recorded
that the read model cannot show yet."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import ConcurrencyError
from rivetr.adapters.eventstore.faults import StorageFault

__all__ = ["ConcurrencyError", "ReadModelBehind", "StorageFault"]


class ReadModelBehind(Exception):
    """A change was recorded at `position`, but the read model did not reach it in time, so
    what it made cannot be answered yet; `cause` is why, when the read model knows."""

    def __init__(self, position: int, cause: str | None) -> None:
        self.position = position
        self.cause = cause
        because = f" ({cause})" if cause else ""
        super().__init__(
            f"recorded at position {position}, but the read model has not caught up{because};"
            " it shows once it does"
        )
