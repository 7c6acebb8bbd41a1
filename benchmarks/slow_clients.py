"""A slow-client flood against the built-in proxy: many connections that each send half a
request head and then nothing, and what `rivetr serve --engine none` holds while they last.

For each scenario a fresh `rivetr serve` is started (its proxy on a free loopback port, the
service's own limits unless `--env` says otherwise), then this process opens `--connections`
connections, `--concurrency` at a time, each sending `GET / HTTP/1.1`, a Host and half a header
line. The clients come from one address (`one address`, where the per-address bound applies)
or are spread over `--addresses` loopback addresses 127.0.0.2... (`spread`, where the total
bound applies). Printed for each of `--rounds` floods, one after another, from
/proc/<pid>/status and /proc/<pid>/fd of the service: RSS before the flood, once every
connection was opened, and `--wait` seconds later (default: the header timeout and 3 s more),
with the peak (VmHWM); how many connections the proxy turned away with a 503, how many it
still held open after the wait (as the clients see it, and as the service's open file
descriptors), and whether it still answers a request. The soft open-files limit is raised to
the hard one first (the service inherits it); a hard limit below the connections caps the run.

    python benchmarks/slow_clients.py [--connections 19900] [--addresses 100] [--rounds 1]
        [--scenario one|spread|both] [--env RIVETR_PROXY_HEADER_TIMEOUT_S=15 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from idle import free_port, served, status_kb

HALF_HEAD = b"GET / HTTP/1.1\r\nHost: slow.test\r\nX-Waiting: "  # and never the rest


class SlowClient(asyncio.Protocol):
    """Sends half a head and waits; notes whether the proxy answered and whether it closed."""

    def __init__(self) -> None:
        self.answer = b""
        self.closed = False
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(HALF_HEAD)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.answer += data[:64]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


async def flood(port: int, sources: list[str], total: int, concurrency: int) -> list[SlowClient]:
    loop = asyncio.get_running_loop()
    clients: list[SlowClient] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            try:
                _, client = await loop.create_connection(
                    SlowClient, "127.0.0.1", port, local_addr=(sources[n % len(sources)], 0)
                )
            except OSError as exc:
                print(f"connection {n}: {exc}", file=sys.stderr)
                return
            clients.append(client)

    await asyncio.gather(*(one(n) for n in range(total)))
    return clients


def rss_mb(pid: int) -> tuple[float, float]:
    status = status_kb(pid)
    return round(status["VmRSS"] / 1024, 1), round(status["VmHWM"] / 1024, 1)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def still_answers(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: after.test\r\nConnection: close\r\n\r\n")
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return line.decode().strip()


async def scenario(
    name: str, sources: list[str], args: argparse.Namespace
) -> list[dict[str, object]]:
    port = free_port()
    env = dict(item.split("=", 1) for item in args.env)
    settings = {"RIVETR_PROXY_HOST": "127.0.0.1", "RIVETR_PROXY_HTTP_PORT": str(port), **env}
    results = []
    with served("rivetr-bench-slow-", **settings) as (_, _, server):
        await asyncio.sleep(2)
        for round_ in range(1, args.rounds + 1):
            before, _ = rss_mb(server.pid)
            fds_before = open_fds(server.pid)
            started = time.monotonic()
            clients = await flood(port, sources, args.connections, args.concurrency)
            opened_s = time.monotonic() - started
            await asyncio.sleep(0.5)  # the last accepts
            during, _ = rss_mb(server.pid)
            fds_during = open_fds(server.pid)
            turned_away = sum(c.answer.startswith(b"HTTP/1.1 503") for c in clients)
            held = sum(not c.closed for c in clients)
            await asyncio.sleep(args.wait)
            after, peak = rss_mb(server.pid)
            results.append(
                {
                    "scenario": name,
                    "round": round_,
                    "addresses": len(sources),
                    "connections opened": len(clients),
                    "opening took s": round(opened_s, 1),
                    "turned away (503)": turned_away,
                    "held open after the flood": held,
                    "RSS before MB": before,
                    "RSS during MB": during,
                    "RSS after MB": after,
                    "peak RSS MB": peak,
                    f"held open {args.wait:g} s later": sum(not c.closed for c in clients),
                    f"got a 408 in those {args.wait:g} s": sum(
                        c.answer.startswith(b"HTTP/1.1 408") for c in clients
                    ),
                    "service fds before / during / after": (
                        f"{fds_before} / {fds_during} / {open_fds(server.pid)}"
                    ),
                    "a request after": await still_answers(port),
                }
            )
            for client in clients:  # those a proxy without a header timeout still holds
                if client.transport is not None:
                    client.transport.close()
    return results


async def run(args: argparse.Namespace) -> None:
    plans = {"one": ("one address", ["127.0.0.1"])}
    plans["spread"] = ("spread", [f"127.0.0.{2 + n}" for n in range(args.addresses)])
    chosen = ["one", "spread"] if args.scenario == "both" else [args.scenario]
    for key in chosen:
        name, sources = plans[key]
        for result in await scenario(name, sources, args):
            print(json.dumps(result, indent=2), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=19_900)
    parser.add_argument("--addresses", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--scenario", choices=["one", "spread", "both"], default="both")
    parser.add_argument("--wait", type=float, default=18.0)
    parser.add_argument("--rounds", type=int, default=1, help="floods, one after another")
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE for rivetr serve")
    args = parser.parse_args()
    # the clients here and the service (which inherits it) each need a descriptor apiece
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.connections + 100:
        print(f"the open-files limit ({hard}) caps this run", file=sys.stderr)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
