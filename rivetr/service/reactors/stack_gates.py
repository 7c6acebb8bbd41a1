"""When a started service of a stack counts as ready: healthy, when it has a health check (the
engine runs it); exited 0, when it runs once; else still running a few seconds on (a process
that dies at once fails here, not after the switch). Each wait is bounded."""

from __future__ import annotations

from rivetr.adapters.clock import Clock
from rivetr.adapters.runtime.base import (
    ContainerError,
    ContainerRuntime,
    ContainerSpec,
    EngineHealthcheck,
    EngineUnavailable,
)

POLL_S = 0.5
STEADY_S = 3.0  # a service without a health check: running this long after its start
ONCE_LIMIT_S = 600.0  # a run-once service (a migration) may take this long
HEALTH_MARGIN_S = 30.0
HEALTH_LIMIT_S = 900.0


class GateFailed(Exception):
    def __init__(self, reason: str, log_tail: list[str] | None = None) -> None:
        super().__init__(reason)
        self.log_tail = log_tail or []


def health_deadline_s(check: EngineHealthcheck | None) -> float:
    """How long a health check may take to pass: its start period and every retry, with room."""
    if check is None:
        return STEADY_S
    tries = (check.interval_s + check.timeout_s) * (check.retries + 1)
    return min(check.start_period_s + tries + HEALTH_MARGIN_S, HEALTH_LIMIT_S)


async def wait_ready(
    runtime: ContainerRuntime, clock: Clock, container: str, spec: ContainerSpec, *, once: bool
) -> None:
    """Returns when the container is ready.

    Raises:
        GateFailed: it exited (not 0, or at all when it should keep running), turned
            unhealthy, or did not get there in time; with the end of its output.
    """
    if once:
        limit = ONCE_LIMIT_S
    elif spec.healthcheck is not None:
        limit = health_deadline_s(spec.healthcheck)
    else:
        limit = STEADY_S
    started = clock.monotonic()
    while True:
        info = await runtime.inspect_container(container)
        if info is None:
            raise GateFailed(f"its container {container} is gone")
        if info.state in ("exited", "dead"):
            if once and info.exit_code == 0:
                return
            raise GateFailed(
                f"it exited with status {info.exit_code}", await _tail(runtime, container)
            )
        if info.state == "restarting":
            raise GateFailed(
                "it keeps exiting and being restarted", await _tail(runtime, container)
            )
        waited = clock.monotonic() - started
        if not once:
            if spec.healthcheck is None:
                if waited >= STEADY_S and info.state == "running":
                    return
            else:
                health = await runtime.container_health(container)
                if health == "healthy":
                    return
                if health == "unhealthy":
                    raise GateFailed("its health check failed", await _tail(runtime, container))
        if waited >= limit:
            what = "to finish" if once else "to become healthy"
            raise GateFailed(
                f"it did not get ready in {limit:.0f} s (waiting {what})",
                await _tail(runtime, container),
            )
        await clock.sleep(POLL_S)


async def _tail(runtime: ContainerRuntime, container: str) -> list[str]:
    try:
        return (await runtime.container_logs(container, tail=100)).splitlines()
    except (ContainerError, EngineUnavailable):  # the failure's own reason stands without it
        return []
