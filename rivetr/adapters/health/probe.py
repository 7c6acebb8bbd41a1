"""Decides whether a freshly started container is healthy by probing it over HTTP from Rivetr.

The probe is a bare HTTP/1.1 GET over asyncio streams, so it works against images without curl
and needs no HTTP client library. Only the status line is read; the body never matters.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import quote

from rivetr.adapters.clock import Clock, SystemClock
from rivetr.adapters.health.base import EXITED as EXITED
from rivetr.adapters.health.base import ProbeAnswer
from rivetr.adapters.health.base import ProbeResult as ProbeResult
from rivetr.domain.health import answer_text, gives_up
from rivetr.domain.settings import HealthCheck

USER_AGENT = "rivetr-health/1"

_STATUS_LINE = re.compile(rb"HTTP/\d\.\d (\d{3})(?:[ \t][^\r\n]*)?\r?\n")
_STATUS_LINE_MAX = 8192
# every printable ASCII character passes as is; spaces, controls and non-ASCII are %-encoded,
# so no path can break the request line
_PATH_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


async def probe_once(
    host: str,
    port: int,
    path: str,
    *,
    expected_status: int,
    timeout_s: float,
    host_header: str | None = None,
) -> ProbeAnswer:
    """Send one GET to `host:port` and compare the answer's status with `expected_status`.

    Args:
        host: The address to connect to.
        port: The TCP port to connect to.
        path: The request target, such as "/healthz".
        expected_status: The only status that counts as healthy.
        timeout_s: Bound on the whole exchange: connecting, sending and reading the status line.
        host_header: The Host header to send; `host:port` when None.

    Returns:
        (ok, status, error): the status is None when no HTTP answer came; the error is None
        exactly when ok. Network failures and garbage are reported here, never raised.
    """
    authority = host_header or _authority(host, port)
    if "\r" in authority or "\n" in authority:
        raise ValueError(f"line break in Host header {authority!r}")
    request = (
        f"GET {quote(path, safe=_PATH_SAFE)} HTTP/1.1\r\nHost: {authority}\r\n"
        f"User-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port, limit=_STATUS_LINE_MAX)
            writer.write(request)
            await writer.drain()
            line = await reader.readline()
    except TimeoutError:  # before OSError: TimeoutError is one of its subclasses
        return False, None, f"timed out after {timeout_s:.1f} s"
    except ConnectionRefusedError:
        return False, None, "connection refused"
    except ConnectionResetError:
        return False, None, "connection reset"
    except socket.gaierror:
        return False, None, f"cannot resolve {host}"
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return False, None, reason[:1].lower() + reason[1:]
    except ValueError:  # readline past the stream limit
        return False, None, "not an HTTP response (status line too long)"
    finally:
        if writer is not None:
            writer.close()  # no await: closing must not delay a cancellation
    if not line:
        return False, None, "connection closed without a response"
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        return False, None, "not an HTTP response"
    status = int(match[1])
    if status != expected_status:
        return False, status, f"expected {expected_status}, got {status}"
    return True, status, None


class Probe(Protocol):
    async def __call__(
        self, host: str, port: int, path: str, *, expected_status: int, timeout_s: float
    ) -> ProbeAnswer: ...


async def wait_until_healthy(
    host: str,
    port: int,
    check: HealthCheck,
    *,
    on_probe: Callable[[ProbeResult], Awaitable[None]] | None = None,
    is_running: Callable[[], Awaitable[bool]] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    probe: Probe = probe_once,
) -> tuple[bool, str]:
    """Probe `host:port` as `check` says until one probe succeeds, the boot deadline passes,
    or `check.give_up_after_4xx` answers in a row are the same 4xx that waiting cannot change
    (`rivetr.domain.health.gives_up`): an app that is up and refuses the path will go on
    refusing it.

    `port` is always the port connected to and `check.port` is ignored here: the check names a
    port inside the container, and mapping it (or the app's own port when it is None) to the
    published host port is the caller's job.

    The first probe comes after `check.start_period_s`; the next ones every `check.interval_s`,
    measured from the start of the previous probe. The deadline counts from this call, start
    period included; a probe never runs past it, and the wait gives up as soon as no further probe
    could begin before it. At least one probe is always made (with its full timeout when the start
    period reaches the deadline). Cancelling the wait closes any open probe connection.

    Args:
        host: The address to connect to.
        port: The host port the health-check port is published on.
        check: Path, expected status and the timings.
        on_probe: Awaited with every probe's result, in order.
        is_running: Asked before every probe; when it answers False the wait stops at once.
        clock: Monotonic seconds; every timing here is measured with it.
        sleep: Waits between probes, on the same clock.
        probe: Makes one probe (`probe_once`, or a twin's answer).

    Returns:
        (healthy, a one-line summary fit for a deployment log).
    """
    started = clock()
    deadline = started + check.boot_deadline_s
    first_probe_at = started + check.start_period_s
    # the start period passes in interval-sized steps, so a container dying early is noticed
    while (now := clock()) < first_probe_at:
        if is_running is not None and not await is_running():
            return False, EXITED
        await sleep(min(check.interval_s, first_probe_at - now))

    attempt = 0
    statuses: list[int | None] = []
    url = f"http://{_authority(host or '127.0.0.1', port)}{check.path}"
    while True:
        if is_running is not None and not await is_running():
            return False, EXITED
        attempt += 1
        began = clock()
        remaining = deadline - began
        ok, status, error = await probe(
            host,
            port,
            check.path,
            expected_status=check.expected_status,
            timeout_s=min(check.timeout_s, remaining) if remaining > 0 else check.timeout_s,
        )
        ended = clock()
        result = ProbeResult(
            attempt=attempt,
            ok=ok,
            status=status,
            error=error,
            duration_ms=(ended - began) * 1000,
            at=began - started,
            url=url,
        )
        if on_probe is not None:
            await on_probe(result)
        if ok:
            probes = "probe" if attempt == 1 else "probes"
            return True, f"healthy after {attempt} {probes} in {ended - started:.1f} s"
        statuses.append(status)
        if gives_up(statuses, check):
            return False, (
                f"gave up after {attempt} probes: {answer_text(status, error)}"
                f" {check.give_up_after_4xx} times in a row will not change by waiting"
            )
        next_at = began + check.interval_s
        if max(next_at, clock()) >= deadline:
            return False, f"not healthy within {check.boot_deadline_s:g} s: last probe: {error}"
        await sleep(max(0.0, next_at - clock()))


class HttpProber:
    """The health port over real HTTP to 127.0.0.1 (or the host asked), timed by `clock`."""

    def __init__(self, clock: Clock | None = None, host: str = "127.0.0.1") -> None:
        self.clock = clock or SystemClock()
        self.host = host

    async def probe(self, port: int, check: HealthCheck, *, host: str | None = None) -> ProbeAnswer:
        return await probe_once(
            host or self.host,
            port,
            check.path,
            expected_status=check.expected_status,
            timeout_s=check.timeout_s,
        )

    async def wait_until_healthy(
        self,
        port: int,
        check: HealthCheck,
        *,
        on_probe: Callable[[ProbeResult], Awaitable[None]] | None = None,
        is_running: Callable[[], Awaitable[bool]] | None = None,
        host: str | None = None,
    ) -> tuple[bool, str]:
        return await wait_until_healthy(
            host or self.host,
            port,
            check,
            on_probe=on_probe,
            is_running=is_running,
            clock=self.clock.monotonic,
            sleep=self.clock.sleep,
        )


def _authority(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return host if port == 80 else f"{host}:{port}"
