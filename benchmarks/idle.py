"""Idle footprint of `rivetr serve`: resident memory and CPU while nothing happens.

Starts the service on a fresh data directory and a free port, mints a token with the CLI, does a
little real work through the API (create, read, change an app; health; dashboard), then leaves it
alone and measures, from /proc/<pid>:
  - CPU: utime + stime consumed over the idle window (default 60 s), as % of one core;
  - RSS: VmRSS at the end of the window, VmHWM (peak), and RssAnon / RssFile.

Goals: RSS <= 55 MB, CPU < 0.1 %; with --everything, issue 23's: RSS <= 50 MB, CPU < 0.05 %.

    python benchmarks/idle.py                  # engine auto-detected
    python benchmarks/idle.py --engine none    # without a container engine
    python benchmarks/idle.py --imports        # also: RSS after each big import
    python benchmarks/idle.py --restart        # measured after a restart (what --configured is)
    python benchmarks/idle.py --configured     # with a notification channel set, restarted
    python benchmarks/idle.py --job            # with a scheduled job configured
    python benchmarks/idle.py --metrics        # /metrics on and scraped, host thresholds watched
    python benchmarks/idle.py --everything     # all of it on Docker, restarted (everything.py)
    python benchmarks/idle.py --anchor caddy   # Caddy measured in the same window, beside it
    python benchmarks/idle.py --json out.json  # the figures also written as JSON
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from installed import service_python

RSS_GOAL_MB = 55.0
CPU_GOAL_PCT = 0.1
# issue 23, "Performance with everything on": the goals of --everything
EVERYTHING_RSS_GOAL_MB = 50.0
EVERYTHING_CPU_GOAL_PCT = 0.05
# the names --json lists under "configured", in this order
CONFIGURED = (
    "proxy", "app", "acme", "hub", "database_backups", "stack", "notification_channel", "job",
    "metrics",
)  # fmt: skip
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(
    method: str, url: str, token: str | None = None, body: object = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def cpu_ticks(pid: int) -> int:
    """utime + stime of the process (all its threads), in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from 3


def status_kb(pid: int) -> dict[str, int]:
    """The kB figures (VmRSS, VmHWM, RssAnon, RssFile, ...) and Threads from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0])
    return values


def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rivetr serve exited early:\n{log.read_text()}")
        try:
            status, body = request("GET", f"{url}/api/v1/health")
            if status == 200:
                health: dict[str, object] = json.loads(body)
                return health
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"rivetr serve did not answer in 30 s:\n{log.read_text()}")


def start_serve(
    data: Path, environ: dict[str, str], log: Path
) -> tuple[str, str, subprocess.Popen[bytes]]:
    """Mint an admin token in `data` with the CLI, then start `rivetr serve` on a free port
    with its output in `log`: its URL, the token and the process, not yet answering."""
    base = [service_python(), "-m", "rivetr.cli"]
    minted = subprocess.run(
        [*base, "tokens", "create", "--name", "bench", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        check=True,
    )
    token = minted.stdout.strip().splitlines()[-1]
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*base, "serve", "--data-dir", str(data), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    return f"http://127.0.0.1:{port}", token, process


@contextlib.contextmanager
def served(
    prefix: str, data: Path | None = None, **env: str
) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """`rivetr serve` on a fresh data directory (or `data`) with no container engine (and
    `env` added): its URL, a CLI-minted admin token, and the process; stopped on the way out."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    data, log = data or tmp / "data", tmp / "serve.log"
    environ = {
        **os.environ,
        "RIVETR_ENGINE": "none",
        "RIVETR_PROXY_HTTP_PORT": str(free_port()),
        "RIVETR_PROXY_HTTPS_PORT": str(free_port()),
        **env,
    }
    url, token, server = start_serve(data, environ, log)
    try:
        wait_healthy(server, url, log)
        yield url, token, server
    finally:
        server.terminate()
        server.wait(timeout=30)


JOB = {"name": "nightly", "command": "echo hi", "schedule": "0 3 * * *"}


def do_some_work(url: str, token: str, job: bool = False) -> None:
    """Exercise the service so the measured process has loaded and run its real code paths;
    with `job`, leave a scheduled job configured (its scheduler then naps through the window)."""
    steps = [
        ("GET", "/api/v1/health", None, 200),
        ("POST", "/api/v1/apps", {"name": "bench", "port": 3000, "env": {"A": "1"}}, 201),
        ("GET", "/api/v1/apps", None, 200),
        ("GET", "/api/v1/apps/bench", None, 200),
        ("PATCH", "/api/v1/apps/bench", {"port": 3001, "domains": ["bench.example.com"]}, 200),
        ("POST", "/api/v1/apps", {"name": "bench2"}, 201),
        ("DELETE", "/api/v1/apps/bench2", None, 204),
        ("GET", "/api/v1/apps/nope", None, 404),
        ("GET", "/", None, 200),
        ("GET", "/api/v1/health", None, 200),
    ]
    if job:
        steps.append(("POST", "/api/v1/apps/bench/jobs", JOB, 201))
    for method, path, body, expected in steps:
        status, answer = request(method, url + path, token, body)
        if status != expected:
            raise RuntimeError(f"{method} {path}: {status} (expected {expected}): {answer!r}")


def configure(url: str, token: str) -> None:
    """What a user sets up once and then leaves idle: a notification channel."""
    channel = {
        "kind": "slack",
        "url": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
        "on": ["deployment.failed"],
    }
    path = "/api/v1/teams/default/notification-channels/bench"
    status, answer = request("PUT", url + path, token, channel)
    if status != 200:
        raise RuntimeError(f"PUT {path}: {status}: {answer!r}")


METRICS_TOKEN = "idle-bench-metrics-token-0123"


def scrape_metrics(url: str) -> bytes:
    """/metrics three times, so that what a scrape loads is in the figures; the last answer."""
    for _ in range(3):
        status, answer = request("GET", f"{url}/metrics", METRICS_TOKEN)
        if status != 200:
            raise RuntimeError(f"GET /metrics: {status}: {answer[:200]!r}")
    return answer


def wait_engine(url: str, timeout: float) -> dict[str, object]:
    """/api/v1/health once the engine monitor has connected (or `timeout` is over)."""
    deadline = time.monotonic() + timeout
    while True:
        health: dict[str, object] = json.loads(request("GET", f"{url}/api/v1/health")[1])
        if health["engine"]["available"] or time.monotonic() > deadline:  # type: ignore[index]
            return health
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(
    engine: str | None,
    seconds: float,
    settle: float,
    *,
    configured: bool = False,
    restart: bool = False,
    job: bool = False,
    metrics: bool = False,
    everything: bool = False,
    anchor: str | None = None,
) -> dict[str, object]:
    """Set up, then measure `rivetr serve` (and the anchor) over a window of `seconds`.
    With `everything` (the real Docker engine), all of benchmarks/everything.py's setup, a
    notification channel, metrics and a restart; everything made is removed on the way out."""
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="rivetr-bench-idle-"))
    data = tmp / "data"
    log = tmp / "serve.log"
    env = dict(os.environ)
    if engine:
        env["RIVETR_ENGINE"] = engine
    # the proxy on free ports, and no certificate orders for the made-up domain (no CA here)
    env["RIVETR_PROXY_HTTP_PORT"] = str(free_port())
    env["RIVETR_PROXY_HTTPS_PORT"] = str(free_port())
    env["RIVETR_ACME_AUTO"] = "false"
    if metrics:  # /metrics on, scraped, and the host thresholds watched
        env["RIVETR_METRICS_TOKEN"] = METRICS_TOKEN
        env["RIVETR_HOST_DISK_PERCENT"] = env["RIVETR_HOST_MEMORY_PERCENT"] = "99"
        env["RIVETR_HOST_CPU_PERCENT"] = "99"
    names: list[str] = []
    setup: Any = None  # everything.Everything
    caddy: Any = None  # everything.Caddy
    api: Any = None  # everything.Api of the service running now
    process: subprocess.Popen[bytes] | None = None
    try:
        if everything:
            from everything import Api, Everything

            setup = Everything(tmp, lambda line: print(line, flush=True))
            env.update(setup.prepare([service_python(), "-m", "rivetr.cli"], env))
        url, token, process = start_serve(data, env, log)
        if setup is not None:
            setup.alive = lambda: process is not None and process.poll() is None
        started = time.monotonic()
        health = wait_healthy(process, url, log)
        startup = time.monotonic() - started
        do_some_work(url, token, job and not everything)
        if job and not everything:
            names.append("job")
        if setup is not None:  # the app's job goes to the deployed app
            api = Api(url, token)
            if not wait_engine(url, 30)["engine"]["available"]:  # type: ignore[index]
                raise RuntimeError("the service did not connect to the Docker engine in 30 s")
            at = time.monotonic()
            print("configuring through the API:", flush=True)
            setup.configure(api)
            print(f"configured in {time.monotonic() - at:.1f} s", flush=True)
        if configured or restart:  # set up, then started again: idle as after a reboot
            if configured:
                configure(url, token)
                names.append("notification_channel")
            stop(process)
            at = time.monotonic()
            url, token, process = start_serve(data, env, log)
            health = wait_healthy(process, url, log)
            for path in ("/api/v1/apps", "/api/v1/apps/bench", "/"):  # the same reads again
                request("GET", url + path, token)
            if setup is not None:
                api = Api(url, token)
                health = wait_engine(url, 30)
                if not health["engine"]["available"]:  # type: ignore[index]
                    raise RuntimeError(f"the engine is not back after the restart: {health}")
                answered = setup.check(api)
                print(f"restarted, engine and routes back in {time.monotonic() - at:.1f} s: "
                      f"{answered}", flush=True)  # fmt: skip
        if metrics:
            scraped = scrape_metrics(url)
            names.append("metrics")
            if setup is not None:  # the subscriber is the hub's, as the service counts it
                gauge = [x for x in scraped.splitlines() if x.startswith(b"rivetr_sse_sub")]
                count = gauge[0].split()[-1].decode() if gauge else "not in /metrics"
                print(f"event stream subscribers (from /metrics): {count}", flush=True)
        if engine != "none":  # let the monitor connect and record before the window opens
            health = wait_engine(url, 10)
        if anchor == "caddy":
            from everything import Caddy

            upstream = setup.upstream(api) if setup is not None else int(url.rsplit(":", 1)[1])
            caddy = Caddy(tmp / "caddy", upstream)
            print(f"anchor: {caddy.start()}", flush=True)
        if setup is not None:
            names += setup.configured
        after_work = status_kb(process.pid)
        setup_s = time.monotonic() - began
        time.sleep(settle)

        pids = [process.pid] + ([caddy.pid] if caddy is not None else [])
        ticks0, t0 = [cpu_ticks(pid) for pid in pids], time.monotonic()
        time.sleep(seconds)
        ticks1, t1 = [cpu_ticks(pid) for pid in pids], time.monotonic()
        end = status_kb(process.pid)
        if process.poll() is not None:
            raise RuntimeError(f"rivetr serve died during the window:\n{log.read_text()}")
        if setup is not None and setup.subscriber is not None:
            sub = setup.subscriber
            state = "still connected" if sub.is_alive() else f"gone ({sub.ended})"
            print(f"event stream subscriber: {state}, {sub.events} events and "
                  f"{sub.comments} keep-alives received")  # fmt: skip
        result: dict[str, object] = {
            "engine": engine or "auto",
            "engine_status": health["engine"]["detail"],  # type: ignore[index]
            "configured": [name for name in CONFIGURED if name in names],
            "startup_s": startup,
            "setup_s": setup_s,
            "window_s": t1 - t0,
            "cpu_s": (ticks1[0] - ticks0[0]) / CLK_TCK,
            "cpu_pct": (ticks1[0] - ticks0[0]) / CLK_TCK / (t1 - t0) * 100,
            "rss_after_work_mb": after_work["VmRSS"] / 1024,
            "rss_mb": end["VmRSS"] / 1024,
            "hwm_mb": end["VmHWM"] / 1024,
            "anon_mb": end.get("RssAnon", 0) / 1024,
            "file_mb": end.get("RssFile", 0) / 1024,
            "threads": end.get("Threads", 0),
            "anchor": None,
        }
        if caddy is not None:
            if caddy.process.poll() is not None:
                raise RuntimeError("caddy died during the window")
            result["anchor"] = {
                "name": "caddy",
                "rss_mb": status_kb(caddy.pid)["VmRSS"] / 1024,
                "cpu_pct": (ticks1[1] - ticks0[1]) / CLK_TCK / (t1 - t0) * 100,
            }
        return result
    except Exception:
        if setup is not None and log.exists():  # what the service said, before tmp goes
            tail = log.read_text(errors="replace").splitlines()[-40:]
            print("last lines of serve.log:", *tail, sep="\n  ", file=sys.stderr)
        raise
    finally:
        if caddy is not None:
            caddy.stop()
        if setup is not None:
            setup.remove(api if setup.alive() else None)
        if process is not None:
            stop(process)
        if setup is not None:
            removed = setup.sweep(data)
            setup.close()
            print(f"removed from the engine after the service stopped: {len(removed)} objects"
                  + (f" ({', '.join(removed)})" if removed else ""))  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


# What `rivetr serve` loads, each step measured as the RSS growth it causes in a fresh interpreter
# that has already taken every step above it: third-party first, then Rivetr's own code layer by
# layer, then the web app built (Litestar's models of every route handler). A library two steps
# load is counted once, in the first.
APP_BUILT = "(the web app built)"
IMPORT_STEPS = [
    "asyncio",  # with ssl, socket, selectors: the proxy, the server and the engine's client
    "sqlite3",
    "aiosqlite",
    "msgspec",
    "anyio",
    "jinja2",
    "litestar",
    "litestar.openapi",
    "litestar.plugins.jinja",
    "uvicorn",
    "docker",  # with requests and urllib3
    "yaml",
    "rivetr.domain.events",
    "rivetr.projections.runner",
    "rivetr.bootstrap",
    "rivetr.web.app",
    "rivetr.adapters.runtime.docker",
    "rivetr.cli",
    APP_BUILT,
]

_IMPORT_PROBE = """
import json, sys, tempfile
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
out = [('python', rss())]
for name in sys.argv[2:]:
    if name == sys.argv[1]:
        from rivetr.config import Settings
        from rivetr.web.app import create_app
        create_app(Settings(data_dir=tempfile.mkdtemp()))
    else:
        __import__(name)
    out.append((name, rss()))
print(json.dumps(out))
"""


def import_costs() -> list[tuple[str, float, float]]:
    """(module, RSS growth MB, RSS after MB) for each step of IMPORT_STEPS, cumulatively."""
    result = subprocess.run(
        [service_python(), "-c", _IMPORT_PROBE, APP_BUILT, *IMPORT_STEPS],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    steps = json.loads(result.stdout)
    rows, previous = [], 0
    for name, kb in steps:
        rows.append((name, (kb - previous) / 1024, kb / 1024))
        previous = kb
    return rows


JSON_KEYS = (
    "engine", "configured", "setup_s", "window_s", "cpu_pct", "rss_mb", "hwm_mb", "anon_mb",
    "file_mb", "threads", "anchor",
)  # fmt: skip


def interrupted(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: the `finally` blocks run and remove what the run made."""
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--engine",
        choices=["auto", "docker", "podman", "none"],
        default=None,
        help="RIVETR_ENGINE for the service (default: not set, i.e. auto-detected)",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window (default 60)")
    parser.add_argument("--settle", type=float, default=2.0, help="pause before the window opens")
    parser.add_argument("--imports", action="store_true", help="also show RSS per import")
    parser.add_argument(
        "--configured", action="store_true", help="with a notification channel set, restarted"
    )
    parser.add_argument("--restart", action="store_true", help="measured after a restart")
    parser.add_argument("--job", action="store_true", help="with a scheduled job configured")
    parser.add_argument(
        "--metrics", action="store_true", help="metrics on and scraped, host thresholds watched"
    )
    parser.add_argument(
        "--everything",
        action="store_true",
        help="on the Docker engine: proxy on 80/443 with ACME (Pebble) certificates, a deployed "
        "app, a database with a backup schedule, a stack, an event-stream subscriber, a "
        "notification channel, a job and metrics; restarted (issue 23's goals)",
    )
    parser.add_argument(
        "--anchor",
        choices=["caddy"],
        default=None,
        help="also measure Caddy serving a reverse_proxy route over HTTPS in the same window",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    if args.everything and args.engine not in (None, "docker"):
        parser.error("--everything runs on the Docker engine: leave --engine out or say docker")
    signal.signal(signal.SIGTERM, interrupted)

    r = measure(
        "docker" if args.everything else args.engine,
        args.seconds,
        args.settle,
        configured=args.configured or args.everything,
        restart=args.restart or args.everything,
        job=args.job or args.everything,
        metrics=args.metrics or args.everything,
        everything=args.everything,
        anchor=args.anchor,
    )
    rss_goal = EVERYTHING_RSS_GOAL_MB if args.everything else RSS_GOAL_MB
    cpu_goal = EVERYTHING_CPU_GOAL_PCT if args.everything else CPU_GOAL_PCT
    rss_ok = r["rss_mb"] <= rss_goal  # type: ignore[operator]
    cpu_ok = r["cpu_pct"] < cpu_goal  # type: ignore[operator]
    python = sys.version.split()[0]
    print(f"rivetr serve, engine={r['engine']} ({r['engine_status']}), python {python}")
    print(f"started and healthy in {r['startup_s']:.2f} s; {r['threads']} threads at the end")
    configured = ", ".join(r["configured"]) or "nothing"  # type: ignore[arg-type]
    print(f"configured: {configured}; set up in {r['setup_s']:.1f} s")
    print()
    print(f"{'figure':<34}{'value':>12}  goal")
    print(f"{'RSS after the API work (MB)':<34}{r['rss_after_work_mb']:>12.1f}")
    print(
        f"{'RSS after the idle window (MB)':<34}{r['rss_mb']:>12.1f}"
        f"  <= {rss_goal:.0f} MB: {'met' if rss_ok else 'NOT met'}"
    )
    print(f"{'  of which anonymous (MB)':<34}{r['anon_mb']:>12.1f}")
    print(f"{'  of which file-backed (MB)':<34}{r['file_mb']:>12.1f}")
    print(f"{'peak RSS, VmHWM (MB)':<34}{r['hwm_mb']:>12.1f}")
    print(f"{'CPU time in the window (s)':<34}{r['cpu_s']:>12.2f}")
    window = format(r["window_s"], ".0f")
    print(
        f"{'CPU over ' + window + ' s idle (%)':<34}{r['cpu_pct']:>12.3f}"
        f"  < {cpu_goal} %: {'met' if cpu_ok else 'NOT met'}"
    )
    anchor: dict[str, Any] | None = r["anchor"]  # type: ignore[assignment]
    if anchor is not None:
        name = anchor["name"]
        print(f"{'anchor: ' + name + ' RSS (MB)':<34}{anchor['rss_mb']:>12.1f}")
        print(
            f"{'anchor: ' + name + ' CPU over ' + window + ' s (%)':<34}{anchor['cpu_pct']:>12.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({key: r[key] for key in JSON_KEYS}, indent=2) + "\n")
    if args.imports or not rss_ok:
        print()
        print("RSS growth per import (fresh interpreter, cumulative), then the app built:")
        print(f"{'module':<36}{'+MB':>8}{'total MB':>10}")
        for name, grew, total in import_costs():
            print(f"{name:<36}{grew:>8.1f}{total:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
