"""A health check as a deployment's log tells it: each probe that answered differently from the
one before it, as itself; a run of identical answers once, as one summary line when the answer
changes or the check ends. The events stay one per probe; only the telling is shorter."""

from __future__ import annotations

from collections.abc import Callable

from rivetr.adapters.health.base import ProbeResult
from rivetr.domain.health import LastProbe, gives_up, probe_line, repeats_line
from rivetr.domain.settings import HealthCheck


class ProbeLog:
    """Follows one health check's probes: writes them (collapsed) with `write`, and keeps what
    the failure sentence needs (the last answer, whether the check gave up on it)."""

    def __init__(self, write: Callable[[str], None], check: HealthCheck) -> None:
        self._write = write
        self._check = check
        self._statuses: list[int | None] = []
        self._last: ProbeResult | None = None
        self._repeats: tuple[int, int] | None = None  # the first and last repeat not yet told

    def probe(self, result: ProbeResult) -> None:
        if self._last is not None and _same(self._last, result):
            first = self._repeats[0] if self._repeats else result.attempt
            self._repeats = (first, result.attempt)
        else:
            self.end()
            self._write(probe_line(result.attempt, result.url, result.status, result.error))
        self._last = result
        if not result.ok:
            self._statuses.append(result.status)

    def end(self) -> None:
        """Tell the repeats not yet told (the check ended, or the answer changes)."""
        if self._repeats is not None and self._last is not None:
            first, last = self._repeats
            self._write(repeats_line(first, last, self._last.status, self._last.error))
        self._repeats = None

    def last(self, exited: bool) -> LastProbe | None:
        """The last answer, as the failure sentence takes it (None: no probe ran)."""
        if self._last is None:
            return LastProbe(status=None, error=None, exited=True) if exited else None
        return LastProbe(
            status=self._last.status,
            error=self._last.error,
            gave_up=gives_up(self._statuses, self._check),
            exited=exited,
        )


def _same(a: ProbeResult, b: ProbeResult) -> bool:
    return (a.ok, a.status, a.error, a.url) == (b.ok, b.status, b.error, b.url)
