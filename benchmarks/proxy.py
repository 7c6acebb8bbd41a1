"""Proxy throughput and latency: Rivetr's proxy against nginx as a plain reverse proxy, in the
same run, in front of the same upstream, measured by the same load tool.

The upstream is nginx itself answering `200 hello` (so it is never the bottleneck). nginx, the
proxy under comparison, runs with `worker_processes auto` and upstream keep-alive; Rivetr's proxy
runs as in `rivetr serve`, one process and one event loop, started here on its own (the same
`ProxyServer`, with a one-route table), on the stock event loop or, with `--uvloop`, on uvloop
(what `rivetr serve` runs on when the `fast` extra is installed). Load: `wrk` from Debian, 2
threads, `--connections` keep-alive connections, `--seconds` per run, after a 3 s warm-up;
req/s and p99 latency.

With `--upstreams N` (N > 1) nginx answers on N ports and both proxies balance over them: nginx
round robin over an `upstream` block of N servers, Rivetr's proxy through a `Balanced` route of
N members (`--strategy`), measured beside its one-`Upstream` route to the first of them, in the
same process, so that the cost of balancing is read off one run. On a shared machine req/s
swings with the neighbours' load; the CPU time Rivetr's process spent per request
(`cpu_us_per_req`, from `/proc`) swings less, and is printed for its runs.

    apt-get install -y nginx wrk
    python benchmarks/proxy.py [--connections 64] [--seconds 15] [--uvloop]
    python benchmarks/proxy.py --upstreams 3 [--strategy least_connections]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.net import free_port

NGINX = """
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    upstream app {{ {servers} keepalive 64; }}
    server {{ {listens} location / {{ return 200 "hello\\n"; }} }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""

RIVETR = """
import asyncio, sys
from rivetr.adapters.proxy import Balanced, ProxyServer, RouteTable, Upstream

async def main():
    members = tuple(Upstream("bench", "127.0.0.1", int(p), "d1") for p in sys.argv[1].split(","))
    routes = RouteTable({
        "bench.test": members[0],
        "balanced.test": Balanced("bench", "d1", members, sys.argv[4]),
    })
    server = await ProxyServer(routes).serve("127.0.0.1", int(sys.argv[2]))
    print("ready", flush=True)
    await server.serve_forever()

if sys.argv[3] == "uvloop":
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""


def wrk(port: int, connections: int, seconds: int, host: str = "bench.test") -> dict[str, float]:
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Host: {host}",
        f"http://127.0.0.1:{port}/",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "req_per_s": rate,
        "p99_ms": round(float(p99.group(1)) * scale, 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "requests": requests,
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (clock ticks of 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--upstreams", type=int, default=1)
    parser.add_argument(
        "--strategy", choices=["round_robin", "least_connections"], default="round_robin"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rivetr-bench-proxy-"))
    upstreams = [free_port() for _ in range(args.upstreams)]
    upstream, nginx_port, rivetr_port = upstreams[0], free_port(), free_port()
    config = NGINX.format(
        tmp=tmp,
        servers=" ".join(f"server 127.0.0.1:{port};" for port in upstreams),
        listens=" ".join(f"listen 127.0.0.1:{port};" for port in upstreams),
        proxy=nginx_port,
    )
    (tmp / "nginx.conf").write_text(config)
    subprocess.run(["nginx", "-c", str(tmp / "nginx.conf")], check=True)
    rivetr = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RIVETR,
            ",".join(map(str, upstreams)),
            str(rivetr_port),
            "uvloop" if args.uvloop else "stock",
            args.strategy,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert rivetr.stdout is not None
        assert rivetr.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        results = {}
        runs = [
            ("upstream direct", upstream, "bench.test"),
            ("nginx", nginx_port, "bench.test"),
            ("rivetr", rivetr_port, "bench.test"),
        ]
        if args.upstreams > 1:
            runs.append(("rivetr balanced", rivetr_port, "balanced.test"))
        for name, port, host in runs:
            wrk(port, args.connections, 3, host)  # warm-up
            before = cpu_seconds(rivetr.pid)
            results[name] = run = wrk(port, args.connections, args.seconds, host)
            if port == rivetr_port:
                spent = cpu_seconds(rivetr.pid) - before
                run["cpu_us_per_req"] = round(spent / run["requests"] * 1e6, 1)
        rate = {name: results[name]["req_per_s"] for name, _, _ in runs}
        results["ratio"] = {"rivetr/nginx req/s": round(rate["rivetr"] / rate["nginx"], 3)}
        if args.upstreams > 1:
            results["ratio"]["rivetr balanced/nginx req/s"] = round(
                rate["rivetr balanced"] / rate["nginx"], 3
            )
            results["ratio"]["rivetr balanced/rivetr req/s"] = round(
                rate["rivetr balanced"] / rate["rivetr"], 3
            )
        print(json.dumps(results, indent=2))
    finally:
        rivetr.terminate()
        subprocess.run(["nginx", "-c", str(tmp / "nginx.conf"), "-s", "stop"], check=False)


if __name__ == "__main__":
    main()
