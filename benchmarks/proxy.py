"""Proxy throughput and latency: Rivetr's proxy against nginx as a plain reverse proxy, in the
same run, in front of the same upstream, measured by the same load tool.

The upstream is nginx itself answering `200 hello` (so it is never the bottleneck). nginx, the
proxy under comparison, runs with `worker_processes auto` and upstream keep-alive; Rivetr's proxy
runs as in `rivetr serve`, one process and one event loop, started here on its own (the same
`ProxyServer`, with a one-route table), on the stock event loop or, with `--uvloop`, on uvloop
(what `rivetr serve` runs on when the `fast` extra is installed). Load: `wrk` from Debian, 2
threads, `--connections` keep-alive connections, `--seconds` per run, after a 3 s warm-up;
req/s and p99 latency.

    apt-get install -y nginx wrk
    python benchmarks/proxy.py [--connections 64] [--seconds 15] [--uvloop]
"""

from __future__ import annotations

import argparse
import json
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
    upstream app {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{ listen 127.0.0.1:{upstream}; location / {{ return 200 "hello\\n"; }} }}
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
from rivetr.adapters.proxy import ProxyServer, RouteTable, Upstream

async def main():
    routes = RouteTable({"bench.test": Upstream("bench", "127.0.0.1", int(sys.argv[1]), "d1")})
    server = await ProxyServer(routes).serve("127.0.0.1", int(sys.argv[2]))
    print("ready", flush=True)
    await server.serve_forever()

if sys.argv[3:] == ["uvloop"]:
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""


def wrk(port: int, connections: int, seconds: int) -> dict[str, float]:
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        "Host: bench.test",
        f"http://127.0.0.1:{port}/",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "req_per_s": rate,
        "p99_ms": round(float(p99.group(1)) * scale, 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rivetr-bench-proxy-"))
    upstream, nginx_port, rivetr_port = free_port(), free_port(), free_port()
    (tmp / "nginx.conf").write_text(NGINX.format(tmp=tmp, upstream=upstream, proxy=nginx_port))
    subprocess.run(["nginx", "-c", str(tmp / "nginx.conf")], check=True)
    rivetr = subprocess.Popen(
        [sys.executable, "-c", RIVETR, str(upstream), str(rivetr_port)]
        + (["uvloop"] if args.uvloop else []),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert rivetr.stdout is not None
        assert rivetr.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        results = {}
        for name, port in (
            ("upstream direct", upstream),
            ("nginx", nginx_port),
            ("rivetr", rivetr_port),
        ):
            wrk(port, args.connections, 3)  # warm-up
            results[name] = wrk(port, args.connections, args.seconds)
        results["ratio"] = {
            "rivetr/nginx req/s": round(
                results["rivetr"]["req_per_s"] / results["nginx"]["req_per_s"], 3
            )
        }
        print(json.dumps(results, indent=2))
    finally:
        rivetr.terminate()
        subprocess.run(["nginx", "-c", str(tmp / "nginx.conf"), "-s", "stop"], check=False)


if __name__ == "__main__":
    main()
