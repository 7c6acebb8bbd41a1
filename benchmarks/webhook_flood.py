"""An unverified webhook flood: many parallel 5 MB deliveries that no secret signed, and what
`rivetr serve --engine none` holds while they last.

For each scenario a fresh `rivetr serve` is started (no container engine) with an app `bench`
whose webhook is on. Then `--clients` connections at once each post a `--size` MB JSON body to
`/webhooks/github/bench`, in 64 KB writes, and stop writing once the service answers (or closes
the connection). The scenarios differ in the signature header:

- `unsigned`: none at all, as a stranger's request comes;
- `forged`: `X-Hub-Signature-256: sha256=<64 hex digits>`, the right shape but a wrong value,
  so the service cannot refuse it without reading the body and computing the HMAC;
- `unknown app`: no signature, to an app that does not exist.

Printed per scenario, from /proc/<pid>/status of the service: RSS before the flood, its peak
(VmHWM) and RSS once every client is answered; the answers by status ("closed": the connection was
closed before an answer reached the client, as happens when a server closes a socket with
unread data in it); and whether it still answers a signed push. How much of each body is read
is not measured here (the socket buffers of both ends hold megabytes on loopback):
tests/web/test_webhook_limits.py counts it.

    python benchmarks/webhook_flood.py [--clients 24] [--size 5] [--scenario unsigned ...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from idle import request, served, status_kb

CHUNK = 64 * 1024
SCENARIOS = ("unsigned", "forged", "unknown app")


class Delivery(asyncio.Protocol):
    """Writes a head and then the body chunk by chunk while the transport takes it; stops at
    the first byte of an answer, or when the service closes the connection."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head, self.size = head, size
        self.sent = 0
        self.answer = b""
        self.done = asyncio.get_running_loop().create_future()
        self.resume = asyncio.Event()
        self.resume.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        self.transport.write(self.head)  # type: ignore[attr-defined]
        filler = b"{" + b" " * (CHUNK - 2) + b"}"
        while self.sent < self.size and not self.done.done():
            await self.resume.wait()
            part = filler[: min(CHUNK, self.size - self.sent)]
            self.transport.write(part)  # type: ignore[attr-defined]
            self.sent += len(part)

    def pause_writing(self) -> None:
        self.resume.clear()

    def resume_writing(self) -> None:
        self.resume.set()

    def data_received(self, data: bytes) -> None:
        self.answer += data
        if b"\r\n\r\n" in self.answer and not self.done.done():
            self.done.set_result(None)
            self.resume.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)
        self.resume.set()

    @property
    def status(self) -> int:
        parts = self.answer.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


async def flood(port: int, app: str, headers: str, clients: int, size: int) -> list[Delivery]:
    loop = asyncio.get_running_loop()
    head = (
        f"POST /webhooks/github/{app} HTTP/1.1\r\nHost: bench\r\n"
        "Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
        f"{headers}Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    made = await asyncio.gather(
        *(
            loop.create_connection(lambda: Delivery(head, size), "127.0.0.1", port)
            for _ in range(clients)
        )
    )
    deliveries = [protocol for _, protocol in made]
    await asyncio.wait_for(asyncio.gather(*(d.done for d in deliveries)), timeout=300)
    for transport, _ in made:
        transport.close()
    return deliveries


def signed_push(url: str, secret: str) -> int:
    """A small correctly signed push (to a branch the app does not deploy): the answer's status."""
    body = json.dumps({"ref": "refs/heads/elsewhere", "after": "ab" * 20, "before": "cd" * 20})
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"{url}/webhooks/github/bench",
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={digest}",
        },
    )
    with urllib.request.urlopen(req, timeout=30) as response:
        return int(response.status)


def run(scenario: str, clients: int, size: int) -> dict[str, object]:
    with served("rivetr-bench-flood-") as (url, token, process):
        port = int(url.rsplit(":", 1)[1])
        request("POST", f"{url}/api/v1/apps", token, {"name": "bench", "branch": "main"})
        _, answer = request("POST", f"{url}/api/v1/apps/bench/webhook", token)
        secret = json.loads(answer)["secret"]
        signed_push(url, secret)  # warm: the real path has run once
        time.sleep(1)
        before = status_kb(process.pid)
        app, headers = "bench", ""
        if scenario == "forged":
            headers = f"X-Hub-Signature-256: sha256={'0' * 64}\r\n"
        elif scenario == "unknown app":
            app = "nope"
        started = time.monotonic()
        deliveries = asyncio.run(flood(port, app, headers, clients, size))
        elapsed = time.monotonic() - started
        after = status_kb(process.pid)
        statuses: dict[str, int] = {}
        for delivery in deliveries:
            key = str(delivery.status or "closed")
            statuses[key] = statuses.get(key, 0) + 1
        return {
            "scenario": scenario,
            "clients": clients,
            "body_mb": size / 1024 / 1024,
            "rss_before_mb": round(before["VmRSS"] / 1024, 1),
            "rss_peak_mb": round(after["VmHWM"] / 1024, 1),
            "rss_after_mb": round(after["VmRSS"] / 1024, 1),
            "answers": statuses,
            "seconds": round(elapsed, 2),
            "signed_push_after": signed_push(url, secret),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--size", type=float, default=5.0, help="body size in MB")
    parser.add_argument("--scenario", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    size = int(args.size * 1024 * 1024)
    for scenario in args.scenario:
        print(json.dumps(run(scenario, args.clients, size)), flush=True)


if __name__ == "__main__":
    main()
