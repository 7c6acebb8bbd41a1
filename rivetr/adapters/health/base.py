"""The health port: is a release's published port answering its health check, from outside."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec

from rivetr.domain.settings import HealthCheck

EXITED = "the container exited during the health check"

# (ok, status, error): the status is None when no HTTP answer came; the error None exactly when ok
ProbeAnswer = tuple[bool, int | None, str | None]


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    attempt: int
    ok: bool
    status: int | None
    error: str | None  # short and readable: "connection refused", "expected 200, got 503"
    duration_ms: float
    at: float  # seconds since the health check started, on its monotonic clock
    url: str | None = None  # what was asked: GET <url>


class HealthProber(Protocol):
    """Probes a port on this host (where the engine publishes a release's ports), or at
    `host`: a server's address, where a copy of an app on servers publishes its port."""

    async def probe(self, port: int, check: HealthCheck, *, host: str | None = None) -> ProbeAnswer:
        """One request to `check.path` on `port`, compared with `check.expected_status`;
        network failures and garbage are reported in the answer, never raised."""
        ...

    async def wait_until_healthy(
        self,
        port: int,
        check: HealthCheck,
        *,
        on_probe: Callable[[ProbeResult], Awaitable[None]] | None = None,
        is_running: Callable[[], Awaitable[bool]] | None = None,
        host: str | None = None,
    ) -> tuple[bool, str]:
        """Probe `port` as `check` says until one probe succeeds, the boot deadline passes or
        the same answer that waiting cannot change came `check.give_up_after_4xx` times.

        Args:
            port: The host port the health-check port is published on.
            check: Path, expected status and the timings.
            on_probe: Awaited with every probe's result, in order.
            is_running: Asked before every probe; when it answers False the wait stops at once.

        Returns:
            (healthy, a one-line summary fit for a deployment log).
        """
        ...
