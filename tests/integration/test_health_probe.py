"""The HTTP health probe and the wait for a healthy container, against real local servers."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from rivetr.adapters.health.probe import EXITED, ProbeResult, probe_once, wait_until_healthy
from rivetr.domain.settings import HealthCheck

# real servers on real sockets, waited for in real time: the adapter against the real thing
pytestmark = pytest.mark.integration

Handler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A local TCP server recording each request head it received, and each hang-up."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[bytes] = []
        self.received = asyncio.Event()
        self.hung_up = asyncio.Event()  # a client closed a connection the server kept open


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    server = Server()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            server.requests.append(head)
            server.received.set()
            await handler(head, reader, writer)
            if reader.at_eof():
                server.hung_up.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    tcp = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    server.port = tcp.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        tcp.close()
        await tcp.wait_closed()


def answering(*statuses: int) -> Handler:
    """Answer with each status in turn, then keep repeating the last one."""
    queue = list(statuses)

    async def handler(
        head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        writer.write(f"HTTP/1.1 {status} Whatever\r\nContent-Length: 2\r\n\r\nok".encode())
        await writer.drain()

    return handler


async def silent(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # never answers; returns when the client hangs up


async def garbage(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xff\xfeSSH-2.0-not-http\r\n\r\n")
    await writer.drain()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fast(**overrides: Any) -> HealthCheck:
    """A check with timings small enough for unit tests."""
    return HealthCheck(
        **({"interval_s": 0.05, "timeout_s": 1.0, "boot_deadline_s": 5.0} | overrides)
    )


class Recorder:
    def __init__(self) -> None:
        self.results: list[ProbeResult] = []

    async def __call__(self, result: ProbeResult) -> None:
        self.results.append(result)


@pytest.mark.anyio
async def test_a_server_answering_200_is_healthy_on_the_first_probe() -> None:
    probes = Recorder()
    async with serve(answering(200)) as server:
        healthy, summary = await wait_until_healthy(
            "127.0.0.1", server.port, fast(), on_probe=probes
        )
    assert healthy
    assert summary.startswith("healthy after 1 probe in ")
    assert [(r.attempt, r.ok, r.status, r.error) for r in probes.results] == [(1, True, 200, None)]


@pytest.mark.anyio
async def test_503_three_times_then_200_is_healthy_after_four_probes() -> None:
    probes = Recorder()
    async with serve(answering(503, 503, 503, 200)) as server:
        healthy, summary = await wait_until_healthy(
            "127.0.0.1", server.port, fast(), on_probe=probes
        )
    assert healthy
    assert summary.startswith("healthy after 4 probes in ")
    assert [r.attempt for r in probes.results] == [1, 2, 3, 4]
    assert [(r.ok, r.status, r.error) for r in probes.results[:3]] == [
        (False, 503, "expected 200, got 503")
    ] * 3
    assert probes.results[3].ok


@pytest.mark.anyio
async def test_a_closed_port_is_refused_on_every_probe_until_the_deadline() -> None:
    probes = Recorder()
    started = time.monotonic()
    healthy, summary = await wait_until_healthy(
        "127.0.0.1",
        closed_port(),
        fast(interval_s=0.2, boot_deadline_s=1.5),
        on_probe=probes,
    )
    elapsed = time.monotonic() - started
    assert not healthy
    assert summary == "not healthy within 1.5 s: last probe: connection refused"
    assert 6 <= len(probes.results) <= 8  # one every 0.2 s, none at or past 1.5 s
    assert {(r.ok, r.status, r.error) for r in probes.results} == {
        (False, None, "connection refused")
    }
    assert 1.2 <= elapsed < 2.5


@pytest.mark.anyio
async def test_a_silent_server_times_out_each_probe_and_the_wait_ends_at_the_deadline() -> None:
    probes = Recorder()
    async with serve(silent) as server:
        started = time.monotonic()
        healthy, summary = await wait_until_healthy(
            "127.0.0.1",
            server.port,
            fast(interval_s=0.1, timeout_s=0.3, boot_deadline_s=1.5),
            on_probe=probes,
        )
        elapsed = time.monotonic() - started
    assert not healthy
    assert summary.startswith("not healthy within 1.5 s: last probe: timed out after ")
    assert 4 <= len(probes.results) <= 5
    assert {r.error for r in probes.results[:-1]} == {"timed out after 0.3 s"}
    assert all(250 <= r.duration_ms < 600 for r in probes.results[:-1])
    assert 1.4 <= elapsed < 2.0


@pytest.mark.anyio
async def test_the_interval_counts_from_the_start_of_each_probe_not_its_end() -> None:
    async def slow_503(
        head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await asyncio.sleep(0.1)
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")

    probes = Recorder()
    async with serve(slow_503) as server:
        await wait_until_healthy(
            "127.0.0.1",
            server.port,
            fast(interval_s=0.2, boot_deadline_s=0.75),
            on_probe=probes,
        )
    starts = [r.at for r in probes.results]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(probes.results) == 4  # at 0, 0.2, 0.4 and 0.6 s; 0.8 s is too late
    assert all(r.duration_ms >= 90 for r in probes.results)
    assert all(0.19 <= gap < 0.28 for gap in gaps)  # not 0.2 + 0.1


@pytest.mark.anyio
async def test_custom_path_and_expected_status_are_honoured_in_a_real_request() -> None:
    async def no_content(
        head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        status = 204 if head.startswith(b"GET /up ") else 404
        writer.write(f"HTTP/1.1 {status} \r\n\r\n".encode())

    async with serve(no_content) as server:
        healthy, _ = await wait_until_healthy(
            "127.0.0.1", server.port, fast(path="/up", expected_status=204)
        )
        wrong_expectation = await probe_once(
            "127.0.0.1", server.port, "/up", expected_status=200, timeout_s=1.0
        )
    assert healthy
    assert wrong_expectation == (False, 204, "expected 200, got 204")
    head = server.requests[0].decode()
    lines = head.split("\r\n")
    assert lines[0] == "GET /up HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert "User-Agent: rivetr-health/1" in lines
    assert "Connection: close" in lines


@pytest.mark.anyio
async def test_probe_once_reports_the_status_it_got_and_sends_the_given_host_header() -> None:
    async with serve(answering(503)) as server:
        result = await probe_once(
            "127.0.0.1",
            server.port,
            "/ready ness",
            expected_status=200,
            timeout_s=1.0,
            host_header="app.example.com",
        )
    assert result == (False, 503, "expected 200, got 503")
    lines = server.requests[0].decode().split("\r\n")
    assert lines[0] == "GET /ready%20ness HTTP/1.1"  # a space could not break the request line
    assert "Host: app.example.com" in lines


@pytest.mark.anyio
async def test_the_start_period_delays_the_first_probe() -> None:
    probes = Recorder()
    async with serve(answering(200)) as server:
        healthy, _ = await wait_until_healthy(
            "127.0.0.1", server.port, fast(start_period_s=0.3), on_probe=probes
        )
    assert healthy
    assert len(probes.results) == 1
    assert probes.results[0].at >= 0.3


@pytest.mark.anyio
async def test_a_container_that_is_not_running_stops_the_wait_before_any_probe() -> None:
    probes = Recorder()

    async def exited() -> bool:
        return False

    started = time.monotonic()
    healthy, summary = await wait_until_healthy(
        "127.0.0.1", closed_port(), fast(start_period_s=10), on_probe=probes, is_running=exited
    )
    assert (healthy, summary) == (False, EXITED)
    assert summary == "the container exited during the health check"
    assert probes.results == []
    assert time.monotonic() - started < 0.5


@pytest.mark.anyio
async def test_a_container_exiting_midway_stops_the_wait_at_once() -> None:
    probes = Recorder()
    answers = iter([True, True, False])

    async def running() -> bool:
        return next(answers)

    healthy, summary = await wait_until_healthy(
        "127.0.0.1", closed_port(), fast(), on_probe=probes, is_running=running
    )
    assert (healthy, summary) == (False, EXITED)
    assert len(probes.results) == 2


@pytest.mark.anyio
async def test_garbage_bytes_are_not_healthy_and_raise_nothing() -> None:
    async with serve(garbage) as server:
        ok, status, error = await probe_once(
            "127.0.0.1", server.port, "/", expected_status=200, timeout_s=1.0
        )
        healthy, summary = await wait_until_healthy(
            "127.0.0.1", server.port, fast(interval_s=0.05, boot_deadline_s=0.3)
        )
    assert (ok, status, error) == (False, None, "not an HTTP response")
    assert not healthy
    assert summary == "not healthy within 0.3 s: last probe: not an HTTP response"


@pytest.mark.anyio
async def test_a_server_closing_without_answering_is_reported_plainly() -> None:
    async def hang_up(
        head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        pass

    async with serve(hang_up) as server:
        result = await probe_once("127.0.0.1", server.port, "/", expected_status=200, timeout_s=1)
    assert result == (False, None, "connection closed without a response")


@pytest.mark.anyio
async def test_cancelling_the_wait_mid_probe_closes_the_connection() -> None:
    async with serve(silent) as server:
        task = asyncio.create_task(
            wait_until_healthy("127.0.0.1", server.port, fast(timeout_s=10, boot_deadline_s=20))
        )
        async with asyncio.timeout(1):
            await server.received.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(1):
            await server.hung_up.wait()
