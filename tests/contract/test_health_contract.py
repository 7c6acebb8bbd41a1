"""One contract for the health port: `FakeProber` must answer as `HttpProber` does against a
real HTTP server on loopback (marked `integration`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import msgspec
import pytest

from rivetr.adapters.health.base import EXITED, HealthProber, ProbeResult
from rivetr.adapters.health.fake import FakeProber
from rivetr.adapters.health.probe import HttpProber
from rivetr.domain.settings import HealthCheck
from tests.net import free_port

pytestmark = pytest.mark.anyio

QUICK = HealthCheck(path="/up", interval_s=0.05, timeout_s=1, boot_deadline_s=0.3)


@dataclass
class Ports:
    """The prober under test, and a way to make a port answer given statuses."""

    prober: HealthProber
    servers: list[asyncio.Server] = field(default_factory=list)

    async def serving(self, *statuses: int) -> int:
        """A port answering `statuses` to successive requests, the last one for good."""
        port = free_port()
        if isinstance(self.prober, FakeProber):
            self.prober.answer(port, *statuses)
            return port
        script = list(statuses)

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            status = script.pop(0) if len(script) > 1 else script[0]
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            writer.close()

        self.servers.append(await asyncio.start_server(answer, "127.0.0.1", port))
        return port


@pytest.fixture(params=["fake", pytest.param("http", marks=pytest.mark.integration)])
async def ports(request: pytest.FixtureRequest, anyio_backend: str) -> AsyncIterator[Ports]:
    opened = Ports(FakeProber() if request.param == "fake" else HttpProber())
    yield opened
    for server in opened.servers:
        server.close()


async def test_a_probe_answered_with_the_expected_status_is_ok(ports: Ports) -> None:
    port = await ports.serving(200)

    assert await ports.prober.probe(port, QUICK) == (True, 200, None)


async def test_a_probe_answered_with_another_status_says_which(ports: Ports) -> None:
    port = await ports.serving(503)

    assert await ports.prober.probe(port, QUICK) == (False, 503, "expected 200, got 503")


async def test_a_port_nobody_listens_on_refuses(ports: Ports) -> None:
    assert await ports.prober.probe(free_port(), QUICK) == (False, None, "connection refused")


async def test_a_healthy_port_passes_at_its_first_probe(ports: Ports) -> None:
    port = await ports.serving(200)
    seen: list[ProbeResult] = []

    async def on_probe(result: ProbeResult) -> None:
        seen.append(result)

    healthy, summary = await ports.prober.wait_until_healthy(port, QUICK, on_probe=on_probe)

    assert healthy
    assert summary.startswith("healthy after 1 probe in ")
    assert [(r.attempt, r.ok, r.status) for r in seen] == [(1, True, 200)]


async def test_a_port_that_becomes_healthy_passes_at_that_probe(ports: Ports) -> None:
    port = await ports.serving(503, 503, 200)

    healthy, summary = await ports.prober.wait_until_healthy(port, QUICK)

    assert healthy
    assert summary.startswith("healthy after 3 probes in ")


async def test_an_unhealthy_port_fails_at_the_deadline_with_the_last_answer(ports: Ports) -> None:
    port = await ports.serving(503)
    seen: list[ProbeResult] = []

    async def on_probe(result: ProbeResult) -> None:
        seen.append(result)

    healthy, summary = await ports.prober.wait_until_healthy(port, QUICK, on_probe=on_probe)

    assert not healthy
    assert summary == "not healthy within 0.3 s: last probe: expected 200, got 503"
    assert len(seen) > 1
    assert [r.attempt for r in seen] == list(range(1, len(seen) + 1))
    assert all(r.at < QUICK.boot_deadline_s for r in seen)


@pytest.mark.parametrize("status", [404, 401])
async def test_the_same_4xx_three_times_in_a_row_gives_up_before_the_deadline(
    ports: Ports, status: int
) -> None:
    port = await ports.serving(503, status)
    seen: list[ProbeResult] = []

    async def on_probe(result: ProbeResult) -> None:
        seen.append(result)

    patient = msgspec.structs.replace(QUICK, boot_deadline_s=30)
    healthy, summary = await ports.prober.wait_until_healthy(port, patient, on_probe=on_probe)

    assert not healthy
    assert [r.status for r in seen] == [503, status, status, status]
    assert summary.startswith(f"gave up after 4 probes: {status} ")
    assert all(r.url == f"http://127.0.0.1:{port}/up" for r in seen)


async def test_a_429_is_waited_out_like_a_5xx(ports: Ports) -> None:
    port = await ports.serving(429)

    healthy, summary = await ports.prober.wait_until_healthy(port, QUICK)

    assert not healthy
    assert summary.startswith("not healthy within 0.3 s")


async def test_a_container_that_exited_stops_the_wait_at_once(ports: Ports) -> None:
    port = await ports.serving(200)

    async def stopped() -> bool:
        return False

    assert await ports.prober.wait_until_healthy(port, QUICK, is_running=stopped) == (
        False,
        EXITED,
    )


async def test_healthy_at_boot_then_failing_is_seen_by_the_next_probe(ports: Ports) -> None:
    port = await ports.serving(200, 500)

    healthy, _ = await ports.prober.wait_until_healthy(port, QUICK)

    assert healthy
    assert await ports.prober.probe(port, QUICK) == (False, 500, "expected 200, got 500")
