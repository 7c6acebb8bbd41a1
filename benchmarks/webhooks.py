"""Verified webhook ingestion: signed GitHub pushes per second through `rivetr serve`.

Starts the service (no container engine) on a fresh data directory, makes an app with its
webhook on, then runs `--clients` concurrent HTTP/1.1 keep-alive connections (raw asyncio
streams in a second process, so the load generator does not share the server's GIL) that post
`--requests` real push payloads (the go-scm GitHub push vector), each with its own delivery id
and its own HMAC-SHA256 signature computed over its body. The pushes go to a branch the app
does not deploy, so each one is the whole ingestion path — the signature check on the raw body,
parsing, deciding, and the `webhook.received` event appended to the log — without a deploy.

    python benchmarks/webhooks.py [--requests 5000] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from idle import request, served

VECTORS = Path(
    os.environ.get("RIVETR_VECTORS", Path(__file__).resolve().parents[2] / "shared/vectors")
)


async def client(
    port: int, bodies: list[bytes], secret: bytes, latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for body in bodies:
        signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
        head = (
            "POST /webhooks/github/bench HTTP/1.1\r\nHost: bench\r\n"
            "Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
            f"X-GitHub-Delivery: {uuid.uuid4()}\r\nX-Hub-Signature-256: sha256={signature}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        started = time.perf_counter()
        writer.write(head.encode() + body)
        await writer.drain()
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        statuses.append(int(status_line.split()[1]))
    writer.close()


async def load(port: int, total: int, clients: int, secret: bytes, template: dict) -> dict:
    bodies = []
    for n in range(total):
        template["after"] = f"{n:040x}"
        bodies.append(json.dumps(template).encode())
    per_client = [bodies[i::clients] for i in range(clients)]
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(client(port, b, secret, latencies, statuses) for b in per_client))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": total,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "req_per_s": round(total / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--load-only", nargs=3, metavar=("PORT", "SECRET", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    template = json.loads((VECTORS / "webhooks/github/go-scm/push.json").read_bytes())
    template["ref"] = "refs/heads/not-deployed"
    if args.load_only:
        port, secret, total = (
            int(args.load_only[0]),
            args.load_only[1].encode(),
            int(args.load_only[2]),
        )
        print(json.dumps(asyncio.run(load(port, total, args.clients, secret, template))))
        return

    with served("rivetr-bench-hooks-") as (url, token, _):
        port = int(url.rsplit(":", 1)[1])
        request("POST", f"{url}/api/v1/apps", token, {"name": "bench", "branch": "main"})
        _, body = request("POST", f"{url}/api/v1/apps/bench/webhook", token)
        secret = json.loads(body)["secret"]
        warm = subprocess.run(
            [sys.executable, __file__, "--clients", "4", "--load-only", str(port), secret, "200"],
            capture_output=True,
            text=True,
            check=True,
        )
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--clients",
                str(args.clients),
                "--load-only",
                str(port),
                secret,
                str(args.requests),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(result.stdout)
        figures["warm_up"] = json.loads(warm.stdout)["req_per_s"]
        _, listed = request("GET", f"{url}/api/v1/apps/bench/webhook-deliveries", token)
        figures["recorded_sample"] = json.loads(listed)[0]["reason"]
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
