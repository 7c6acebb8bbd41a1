"""The steady load of `benchmarks/soak.py`, in a process of its own so that it takes no CPU from
the service measured: GETs through Rivetr's proxy to every app in turn, at a fixed rate, each
answer checked against the bodies that app's releases serve.

Most requests go over `--connections` kept-alive connections (each request on the next one);
every `--fresh-every`th round of the apps opens a connection per request. The rate is open-loop:
a request is sent when it is due, whatever the answers before it did. A failure is a request
refused, reset, closed before its answer, not answered whole within `--timeout`, answered other
than 200, or answered a body none of its app's releases serves.

The soak drives it over stdin and stdout, one JSON object a line:

    in:  {"op": "allow", "host": H, "body": B}  an answer B from host H is right from now on
         {"op": "start"}                        start sending
         {"op": "report"}                       answer one report line
         {"op": "stop"} (or end of input)       stop, wait for the requests in flight, report
    out: {"requests": N, "failures": F, "new_failures": [{"at", "host", "connection",
          "reason"}, ...], "latency_ms": {"p50", "p99", "max"} | null}

`requests` and `failures` count every request answered or failed so far; `new_failures` and
`latency_ms` (of the right answers) cover the time since the previous report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

MAX_HEAD = 64 * 1024


# send a GET for a host on a connection and read its answer: (status, body, connection stays)
Exchange = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter, str, bool], Awaitable[tuple[int, bytes, bool]]
]


class Failed(Exception):
    """A request that failed, with the reason recorded."""


class Load:
    def __init__(self, port: int, hosts: list[str], timeout_s: float) -> None:
        self.port = port
        self.hosts = hosts
        self.timeout_s = timeout_s
        self.allowed: dict[str, set[bytes]] = {host: set() for host in hosts}
        self.requests = 0
        self.failures = 0
        self.new_failures: list[dict[str, object]] = []
        self.latencies: list[float] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def request(self, host: str, lane: Lane | None) -> None:
        """One request, on `lane`'s kept-alive connection or (None) on a fresh one."""
        began = time.perf_counter()
        try:
            if lane is None:
                status, body = await asyncio.wait_for(self._fresh(host), self.timeout_s)
            else:
                status, body = await lane.send(host, self.timeout_s, self._exchange)
            if status != 200:
                raise Failed(f"status {status}: {body[:80]!r}")
            if body not in self.allowed[host]:
                raise Failed(f"a body no release serves: {body[:80]!r}")
            self.latencies.append((time.perf_counter() - began) * 1000)
        except Exception as exc:  # every way a request can fail is a failure to record
            self.failures += 1
            self.new_failures.append(
                {
                    "at": time.time(),
                    "host": host,
                    "connection": "new" if lane is None else "kept-alive",
                    "reason": reason(exc, self.timeout_s),
                }
            )
        finally:
            self.requests += 1

    async def _fresh(self, host: str) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            status, body, _ = await self._exchange(reader, writer, host, keep=False)
            return status, body
        finally:
            writer.close()

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, keep: bool
    ) -> tuple[int, bytes, bool]:
        """Send a GET and read its answer whole: (status, body, whether the connection stays)."""
        connection = b"keep-alive" if keep else b"close"
        writer.write(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n" % (
            host.encode(), connection))  # fmt: skip
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status, *_ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", ""):
            body = await read_chunked(reader)
        else:
            body, keep = await reader.read(), False
        stays = keep and version == "HTTP/1.1" and "close" not in headers.get("connection", "")
        return int(status), body, stays

    def launch(self, n: int, lanes: list[Lane], fresh_every: int) -> None:
        """Request `n`: to the next app; every `fresh_every`th round of the apps on new
        connections, the others each on the next kept-alive connection."""
        host = self.hosts[n % len(self.hosts)]
        fresh = (n // len(self.hosts)) % fresh_every == fresh_every - 1
        lane = None if fresh else lanes[n % len(lanes)]
        task = asyncio.create_task(self.request(host, lane))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def report(self) -> dict[str, object]:
        latencies, self.latencies = sorted(self.latencies), []
        figures = None
        if latencies:
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            figures = {
                "p50": round(statistics.median(latencies), 2),
                "p99": round(p99, 2),
                "max": round(latencies[-1], 2),
            }
        failed, self.new_failures = self.new_failures, []
        return {
            "requests": self.requests,
            "failures": self.failures,
            "new_failures": failed,
            "latency_ms": figures,
        }


class Lane:
    """One kept-alive connection, used by one request at a time and opened again when the
    proxy closes it or a request on it fails."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = asyncio.Lock()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, host: str, timeout_s: float, exchange: Exchange) -> tuple[int, bytes]:
        async with self.lock:  # a request waits for the one before it on this connection
            try:
                async with asyncio.timeout(timeout_s):
                    if self.writer is None or self.writer.is_closing():
                        self.reader, self.writer = await asyncio.open_connection(
                            "127.0.0.1", self.port, limit=MAX_HEAD
                        )
                    assert self.reader is not None
                    status, body, stays = await exchange(self.reader, self.writer, host, True)
            except BaseException:
                self.close()
                raise
            if not stays:
                self.close()
            return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from busybox or the proxy
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def reason(exc: BaseException, timeout_s: float) -> str:
    """The failure in a few words: the kind first, so that failures group by it."""
    match exc:
        case Failed():
            return str(exc)
        case TimeoutError():
            return f"timed out ({timeout_s:g} s)"
        case ConnectionRefusedError():
            return "refused"
        case ConnectionResetError() | BrokenPipeError():
            return "reset"
        case asyncio.IncompleteReadError() if not exc.partial:
            return "closed before the answer"
        case asyncio.IncompleteReadError():
            return f"closed mid-answer after {len(exc.partial)} bytes"
        case _:
            return f"{type(exc).__name__}: {exc}"


async def drive(load: Load, rate: float, connections: int, fresh_every: int) -> None:
    """Read the soak's orders; send `rate` requests a second from "start" until "stop"."""
    loop = asyncio.get_running_loop()
    orders = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(orders), sys.stdin)
    lanes = [Lane(load.port) for _ in range(connections)]
    sender: asyncio.Task[None] | None = None

    async def send() -> None:
        started, n = loop.time(), 0
        while True:
            due = int((loop.time() - started) * rate) + 1
            while n < due:  # late (a busy loop): catch up, the rate is fixed
                load.launch(n, lanes, fresh_every)
                n += 1
            await asyncio.sleep(max(0.0, started + n / rate - loop.time()))

    while line := await orders.readline():
        order = json.loads(line)
        match order["op"]:
            case "allow":
                load.allowed[order["host"]].add(order["body"].encode())
            case "start":
                sender = sender or asyncio.create_task(send())
            case "report":
                say(load.report())
            case "stop":
                break
    if sender is not None:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    if load.tasks:
        await asyncio.wait(load.tasks)
    for lane in lanes:
        lane.close()
    say(load.report())


def say(report: dict[str, object]) -> None:
    print(json.dumps(report), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="the proxy's HTTP port")
    parser.add_argument("--hosts", required=True, help="the apps' domains, comma-separated")
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second, in all")
    parser.add_argument("--connections", type=int, default=4, help="kept-alive connections")
    parser.add_argument(
        "--fresh-every", type=int, default=10, help="every Nth round of the apps on new connections"
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds for a whole answer")
    args = parser.parse_args()
    load = Load(args.port, args.hosts.split(","), args.timeout)
    try:
        asyncio.run(drive(load, args.rate, args.connections, max(2, args.fresh_every)))
    except (BrokenPipeError, KeyboardInterrupt):  # the soak is gone: nobody to report to
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
