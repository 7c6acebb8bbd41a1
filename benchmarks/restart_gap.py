"""What a restart of Rivetr costs the apps it serves: the longest time the built-in proxy
answered nothing while `rivetr serve` was stopped with SIGTERM and started again.

Starts the real service (the real engine; the proxy on free ports), deploys a busybox httpd app
behind a domain, and sends it one request after another through the proxy (each with a 1 s
timeout) while the service is restarted `--rounds` times. Prints, per restart:

  stop       SIGTERM -> the process has exited
  start      the new process started -> /api/v1/health answers
  gap        the longest time between two answered requests through the proxy
  failed     requests that got no answer (refused, reset, timed out) or a 5xx

The release itself never stops (its container is the engine's); the gap is the proxy's: it
lives in Rivetr's process. Put a proxy of your own in front, or accept the gap.

    python benchmarks/restart_gap.py
    python benchmarks/restart_gap.py --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from local_git import first_commit

from rivetr.adapters.runtime.baseimage import ensure_busybox_image
from rivetr.adapters.runtime.detect import connect_runtime

DOCKERFILE = """FROM rivetr/busybox:latest
RUN echo up > /www-index
CMD ["httpd", "-f", "-p", "8080", "-h", "/"]
"""
DOMAIN = "gap.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    def __init__(self, folder: Path) -> None:
        self.data = folder / "data"
        self.port, self.proxy = free_port(), free_port()
        self.log = (folder / "serve.log").open("a")
        self.env = {
            **os.environ,
            "RIVETR_PROXY_HOST": "127.0.0.1",
            "RIVETR_PROXY_HTTP_PORT": str(self.proxy),
            "RIVETR_PROXY_HTTPS_PORT": str(free_port()),
            "RIVETR_ACME_AUTO": "false",
            "RIVETR_GIT_LOCAL_DIRS": str(folder),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        command = [sys.executable, "-m", "rivetr.cli", *args, "--data-dir", str(self.data)]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def start(self) -> float:
        """Start it; the seconds until its health answers."""
        began = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rivetr.cli", "serve", "--data-dir", str(self.data),
             "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
        )  # fmt: skip
        while True:
            try:
                with urllib.request.urlopen(self.api("/health"), timeout=1):
                    return time.monotonic() - began
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit("rivetr serve exited; see serve.log") from None
                time.sleep(0.02)

    def stop(self) -> float:
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        return time.monotonic() - began

    def api(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1{path}"

    def call(self, token: str, method: str, path: str, body: object = None) -> dict:  # type: ignore[type-arg]
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.api(path), data=data, method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"{}")  # type: ignore[no-any-return]


class Prober(threading.Thread):
    """One request after another through the proxy; when each was answered (2xx-4xx)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.answered: list[float] = []
        self.failed = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/www-index", headers={"Host": DOMAIN})
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    self.answered.append(time.monotonic())
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
                time.sleep(0.005)


def deploy(service: Service, folder: Path) -> str:
    repo = folder / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text(DOCKERFILE)
    first_commit(repo)
    token = next(w for w in service.cli("tokens", "create", "--name", "gap").split()
                 if w.startswith("rvt_"))  # fmt: skip
    service.call(token, "POST", "/apps", {
        "name": "gap", "git_url": str(repo), "port": 8080, "domains": [DOMAIN],
        "health": {"path": "/www-index", "interval_s": 0.2, "timeout_s": 1},
    })  # fmt: skip
    deployment = service.call(token, "POST", "/apps/gap/deployments", {})["deployment_id"]
    for _ in range(300):
        status = service.call(token, "GET", f"/deployments/{deployment}")["deployment"]["status"]
        if status in ("live", "failed", "rolled_back"):
            if status != "live":
                raise SystemExit(f"the app's deployment ended {status}")
            return token
        time.sleep(0.2)
    raise SystemExit("the app's deployment did not end in a minute")


def longest_gap(answered: list[float], start: float, end: float) -> float:
    inside = [t for t in answered if start - 2 <= t <= end + 2]
    return max((b - a for a, b in itertools.pairwise(inside)), default=float("nan"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_busybox())
    with tempfile.TemporaryDirectory(prefix="rivetr-gap-") as tmp:
        folder = Path(tmp)
        service = Service(folder)
        service.start()
        token = deploy(service, folder)
        prober = Prober(service.proxy)
        prober.start()
        time.sleep(2)
        rows = []
        try:
            for n in range(1, args.rounds + 1):
                failed_before = prober.failed
                began = time.monotonic()
                stop = service.stop()
                start = service.start()
                while not prober.answered or prober.answered[-1] < began + stop + start:
                    time.sleep(0.01)
                time.sleep(2)
                gap = longest_gap(prober.answered, began, time.monotonic())
                rows.append((stop, start, gap, prober.failed - failed_before))
                print(f"restart {n}: stop {stop:.2f} s  start {start:.2f} s  gap {gap:.2f} s"
                      f"  failed {prober.failed - failed_before}")  # fmt: skip
        finally:
            prober.running = False
            service.call(token, "DELETE", "/apps/gap")
            time.sleep(1)
            service.stop()
    print(
        f"median of {len(rows)}: stop {statistics.median(r[0] for r in rows):.2f} s, start"
        f" {statistics.median(r[1] for r in rows):.2f} s, gap"
        f" {statistics.median(r[2] for r in rows):.2f} s"
    )
    return 0


async def _busybox() -> None:
    runtime = await connect_runtime("docker")
    try:
        await ensure_busybox_image(runtime)
    finally:
        await runtime.close()


if __name__ == "__main__":
    raise SystemExit(main())
