"""SSE fan-out: one event delivered to `--subscribers` concurrent `/api/v1/events/stream`
clients of `rivetr serve`, and how long each took to get it.

Starts the service (no container engine) on a fresh data directory, then, in a second process
(so the clients do not share the server's GIL), opens the subscribers as bare asyncio protocols
speaking HTTP/1.1, waits until every one is streaming, and appends `--events` events one at a time
(`POST /api/v1/apps`, `--gap` seconds apart). A delivery's latency is the time it reached the
subscriber minus the time the event was recorded (its `recorded_at`, the same machine's clock),
so it is the fan-out alone, not the API call that made the event. p50, p99 and the worst are
over every (subscriber, event) pair; a missing delivery is counted and reported.

    python benchmarks/sse_fanout.py [--subscribers 1000] [--events 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from idle import request, served


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


class Subscriber(asyncio.Protocol):
    """One client of the stream. It notes the arrival time of each read as it comes and
    parses later, so what it measures is the server's delivery, not this process's own
    work for the other 999 clients (a StreamReader per client added ~60 ms at the tail)."""

    def __init__(self, want: int, streaming: Callable[[], None], done: Callable[[], None]) -> None:
        self.want, self.streaming, self.done = want, streaming, done
        self.reads: list[tuple[float, bytes]] = []
        self.head = b""
        self.seen = 0

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        if self.head is not None:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            data = self.head.split(b"\r\n\r\n", 1)[1]
            self.head = None
            self.streaming()
        self.reads.append((arrived, data))
        self.seen += data.count(b'"recorded_at":"')
        if self.seen >= self.want:
            self.done()

    def latencies(self) -> list[float]:
        """Arrival minus `recorded_at` for each event (the same machine's clock)."""
        got = []
        for arrived, data in self.reads:
            for line in data.split(b"\n"):
                if b'"recorded_at":"' in line:
                    start = line.index(b'"recorded_at":"') + 15
                    stamp = datetime.fromisoformat(line[start : start + 32].decode())
                    got.append(arrived - stamp.timestamp())
        return got


async def subscriber(
    port: int,
    token: str,
    ready: asyncio.Event,
    counter: list[int],
    want: int,
    got: list[float],
    everyone_done: asyncio.Event,
) -> None:
    loop = asyncio.get_running_loop()
    finished = loop.create_future()

    def streaming() -> None:
        counter[0] += 1
        if counter[0] == counter[1]:
            ready.set()

    def done() -> None:
        if not finished.done():
            finished.set_result(None)

    transport, client = await loop.create_connection(
        lambda: Subscriber(want, streaming, done), "127.0.0.1", port
    )
    transport.write(
        (
            "GET /api/v1/events/stream?type=app.created HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    try:
        await finished
        counter[2] += 1
        if counter[2] == counter[1]:
            everyone_done.set()
        # (closed by the caller once every client is done: closing early would put this
        # process's work for the closed ones in the way of the others' last delivery)
        await everyone_done.wait()
    finally:
        transport.close()
        got.extend(client.latencies())


async def fan_out(
    port: int, token: str, subscribers: int, events: int, gap: float, post: bool = True
) -> dict:
    ready, everyone_done = asyncio.Event(), asyncio.Event()
    counter = [0, subscribers, 0]  # streaming, all, done
    latencies: list[list[float]] = [[] for _ in range(subscribers)]
    tasks = [
        asyncio.create_task(
            subscriber(port, token, ready, counter, events, latencies[i], everyone_done)
        )
        for i in range(subscribers)
    ]
    await asyncio.wait_for(ready.wait(), 120)
    await asyncio.sleep(1.0)
    url = f"http://127.0.0.1:{port}"
    print("ready", flush=True)
    for n in range(events if post else 0):
        status, _ = await asyncio.to_thread(
            request, "POST", f"{url}/api/v1/apps", token, {"name": f"fan-{n}"}
        )
        assert status == 201, status
        await asyncio.sleep(gap)
    timeout = 30 + (0 if post else events * gap + 60)
    try:
        await asyncio.wait_for(everyone_done.wait(), timeout)
    except TimeoutError:
        everyone_done.set()  # some deliveries are missing: counted below
    await asyncio.wait(tasks, timeout=10)
    every = sorted(x for per in latencies for x in per)
    missing = subscribers * events - len(every)
    return {
        "all": every,
        "subscribers": subscribers,
        "events": events,
        "deliveries": len(every),
        "missing": missing,
        "p50_ms": round(statistics.median(every) * 1000, 1),
        "p99_ms": round(every[int(len(every) * 0.99) - 1] * 1000, 1),
        "max_ms": round(every[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between two events")
    parser.add_argument(
        "--processes", type=int, default=1, help="client processes sharing the subscribers"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--clients-only", nargs=3, metavar=("PORT", "TOKEN", "POST"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    raise_fd_limit()
    if args.clients_only:
        port, token, post = int(args.clients_only[0]), args.clients_only[1], args.clients_only[2]
        figures = asyncio.run(
            fan_out(port, token, args.subscribers, args.events, args.gap, post == "post")
        )
        print(json.dumps(figures))
        return
    with served("rivetr-bench-sse-") as (url, token, server):
        port = url.rsplit(":", 1)[1]
        share = args.subscribers // args.processes
        clients = []
        for n in range(args.processes):
            role = "post" if n == args.processes - 1 else "listen"
            command = [sys.executable, __file__, "--subscribers", str(share)]
            command += ["--events", str(args.events), "--gap", str(args.gap)]
            clients.append(
                subprocess.Popen(
                    [*command, "--clients-only", port, token, role],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            assert clients[-1].stdout is not None
            assert clients[-1].stdout.readline().strip() == "ready"  # all listening first
        parts = [json.loads(c.communicate()[0]) for c in clients]
        every = sorted(x for part in parts for x in part.pop("all"))
        figures = {
            "subscribers": share * args.processes,
            "client_processes": args.processes,
            "events": args.events,
            "deliveries": len(every),
            "missing": sum(p["missing"] for p in parts),
            "min_ms": round(every[0] * 1000, 1),
            "p50_ms": round(statistics.median(every) * 1000, 1),
            "p99_ms": round(every[int(len(every) * 0.99) - 1] * 1000, 1),
            "max_ms": round(every[-1] * 1000, 1),
        }
        rss = Path(f"/proc/{server.pid}/status").read_text()
        figures["server_rss_mb"] = round(
            int(next(x for x in rss.splitlines() if x.startswith("VmRSS")).split()[1]) / 1024, 1
        )
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
