"""Proxy throughput and latency (issue 23): Rivetr's proxy against nginx, Caddy and HAProxy as
reverse proxies over the same upstream, in the same run, measured by the same load tool.

The upstream is nginx answering `200 hello` on `/` and a 1 MiB static file on `/1mb` (sendfile);
it is measured directly too, so a run shows whether it was the bottleneck. The proxies, each
forwarding Host, adding X-Forwarded-For and keeping its upstream connections alive:
- Rivetr's `ProxyServer` with a one-route table, in a process of its own, one event loop, on
  the loop `rivetr serve` would pick (uvicorn's: uvloop when it can be imported, else stock
  asyncio) or, with `--uvloop`, on uvloop; which one ran is recorded;
- nginx as Debian ships it (`worker_processes auto`, `user www-data`, sendfile), upstream
  `keepalive 64`; it shares its master with the upstream;
- Caddy (`caddy run`, JSON config: admin off, no automatic HTTPS, errors-only logs), its
  `reverse_proxy` defaults;
- HAProxy (`haproxy -db`, threads as it picks them, http mode, `option forwardfor`, the
  default `http-reuse safe`, Debian's timeouts).

Four scenarios: keep-alive or `Connection: close` on every request, the 6-byte or the 1 MiB
body. Per scenario each target runs in turn (this VM's speed swings, so the runs being
compared sit close together): a 3 s warm-up, then `wrk -t2 -c<connections> -d<seconds>`;
req/s, p50 and p99, non-2xx answers, socket errors and, for Rivetr, the CPU time its process
spent per request (from `/proc`, steadier than req/s on a shared machine). Before loading, one
request through each target checks the forwarded Host and X-Forwarded-For and the body size.
After each run the sockets in TIME_WAIT are counted, to show that the close scenarios leave
ephemeral ports for the next runs.

With `--upstreams N` (N > 1) nginx answers on N ports; nginx, Caddy and HAProxy round-robin
over them, and Rivetr's proxy is measured twice in one process: its one-`Upstream` route to the
first of them (`rivetr`) and a `Balanced` route of all N (`rivetr balanced`, `--strategy`).

    apt-get install -y nginx-light caddy haproxy wrk
    python benchmarks/proxy.py [--seconds 10] [--connections 64] [--uvloop] [--json PATH]
    python benchmarks/proxy.py --scenarios "keep-alive small" --proxies rivetr nginx
    python benchmarks/proxy.py --upstreams 3 [--strategy least_connections]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from installed import service_python

from tests.net import free_port

SCENARIOS = {  # name: (path on the upstream, a new connection for every request)
    "keep-alive small": ("/", False),
    "close small": ("/", True),
    "keep-alive 1mb": ("/1mb", False),
    "close 1mb": ("/1mb", True),
}
TARGETS = ("direct", "rivetr", "nginx", "caddy", "haproxy")
BIG = 1 << 20
WARM_UP_S = 3
HOST = "bench.test"

NGINX = """
user {user};
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/nginx/body;
    proxy_temp_path {tmp}/nginx/proxy;
    fastcgi_temp_path {tmp}/nginx/fastcgi;
    uwsgi_temp_path {tmp}/nginx/uwsgi;
    scgi_temp_path {tmp}/nginx/scgi;
    upstream app {{ {servers} keepalive 64; }}
    server {{
        {listens}
        root {tmp}/www;
        location / {{ return 200 "hello\\n"; }}
        location = /1mb {{ }}
        location = /echo {{ return 200 "$host $http_x_forwarded_for"; }}
    }}
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

HAPROXY = """
defaults
    mode http
    option forwardfor
    http-reuse safe
    timeout connect 5s
    timeout client 50s
    timeout server 50s
frontend bench
    bind 127.0.0.1:{port}
    default_backend app
backend app
    balance roundrobin
{servers}
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
    loop = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    print("ready", "uvloop" if loop == "uvloop" else "asyncio", flush=True)
    await server.serve_forever()

if sys.argv[3] == "uvloop":
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""


def caddy_config(port: int, upstreams: list[int]) -> dict[str, Any]:
    proxy = {
        "handler": "reverse_proxy",
        "upstreams": [{"dial": f"127.0.0.1:{p}"} for p in upstreams],
        "load_balancing": {"selection_policy": {"policy": "round_robin"}},
    }
    server = {
        "listen": [f"127.0.0.1:{port}"],
        "automatic_https": {"disable": True},
        "routes": [{"handle": [proxy]}],
    }
    return {
        "admin": {"disabled": True, "config": {"persist": False}},
        "logging": {"logs": {"default": {"level": "ERROR"}}},
        "apps": {"http": {"servers": {"bench": server}}},
    }


def milliseconds(value: str, unit: str) -> float:
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit], 3)


def has_uvloop(python: str) -> bool:
    """Whether the service's interpreter has uvloop to run on."""
    found = "import importlib.util; print(importlib.util.find_spec('uvloop') is not None)"
    return subprocess.run([python, "-c", found], capture_output=True, text=True).stdout == "True\n"


def wrk(port: int, connections: int, seconds: int, path: str, close: bool, host: str) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-H", f"Host: {host}"] + (["-H", "Connection: close"] if close else [])
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout

    def number(pattern: str) -> re.Match[str]:
        found = re.search(pattern, out, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no {pattern!r} in wrk's output:\n{out}")
        return found

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "req_per_s": float(number(r"Requests/sec:\s+([\d.]+)").group(1)),
        "p50_ms": milliseconds(*number(r"^\s*50%\s+([\d.]+)(us|ms|s|m)\b").groups()),
        "p99_ms": milliseconds(*number(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\b").groups()),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "requests": int(number(r"(\d+) requests in").group(1)),
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (clock ticks of 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_wait(ports: set[int]) -> int:
    """Sockets in TIME_WAIT (state 06 in /proc/net/tcp*) to or from one of `ports`: each keeps
    its address pair, and so a client's ephemeral port toward that server, for 60 s."""
    held = 0
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            _, local, remote, state = line.split()[:4]
            ends = {int(local.rpartition(":")[2], 16), int(remote.rpartition(":")[2], 16)}
            held += state == "06" and not ends.isdisjoint(ports)
    return held


def started(name: str, argv: list[str], tmp: Path, **popen: Any) -> subprocess.Popen:
    """A server in a session of its own (Ctrl-C reaches this script alone, which then stops
    every server), its output in `tmp/<name>.log`."""
    with (tmp / f"{name}.log").open("wb") as log:
        popen.setdefault("stdout", log)
        return subprocess.Popen(argv, stderr=log, start_new_session=True, **popen)


def wait_listening(name: str, port: int, process: subprocess.Popen, tmp: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    log = (tmp / f"{name}.log").read_text(errors="replace")
    raise SystemExit(f"{name} did not start listening on {port}:\n{log}")


def check(target: str, port: int, host: str, paths: set[str]) -> None:
    """One request per path through `target`: the upstream saw the Host and X-Forwarded-For a
    client of nginx's config would give it, and the body came back whole."""
    echo = host if target == "direct" else f"{host} 127.0.0.1"
    for path in {"/echo", *paths}:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        if path == "/echo":
            fine = body.decode().strip() == echo
        else:
            fine = len(body) == BIG if path == "/1mb" else body == b"hello\n"
        if response.status != 200 or not fine:
            raise SystemExit(f"{target} {path}: {response.status} {body[:200]!r}")


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.3f}" if a is not None and b else "-"


def table(name: str, runs: dict[str, dict], waits: dict[str, int]) -> str:
    lines = [
        f"\n{name}",
        f"{'target':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
        f"{'sock err':>9}{'cpu µs/req':>11}{'TIME_WAIT':>11}",
    ]
    for target, run in runs.items():
        cpu = run.get("cpu_us_per_req")
        lines.append(
            f"{target:<16}{run['req_per_s']:>10,.0f}{run['p50_ms']:>9.2f}{run['p99_ms']:>9.2f}"
            f"{run['non_2xx']:>9}{run['socket_errors']:>9}{cpu if cpu else '':>11}"
            f"{waits[target]:>11}"
        )

    def figure(target: str, key: str) -> float | None:
        return runs[target][key] if target in runs else None

    rivetr = figure("rivetr", "req_per_s")
    if rivetr is None:
        return "\n".join(lines)
    lines.append(
        f"rivetr/caddy req/s {ratio(rivetr, figure('caddy', 'req_per_s'))} (goal ≥ 1.0), "
        f"rivetr/nginx req/s {ratio(rivetr, figure('nginx', 'req_per_s'))} (goal ≥ 0.7), "
        f"rivetr p99 / nginx p99 {ratio(figure('rivetr', 'p99_ms'), figure('nginx', 'p99_ms'))}"
        " (goal ≤ 2)"
    )
    if "rivetr balanced" in runs:
        balanced = figure("rivetr balanced", "req_per_s")
        lines.append(
            f"rivetr balanced/nginx req/s {ratio(balanced, figure('nginx', 'req_per_s'))}, "
            f"rivetr balanced/rivetr req/s {ratio(balanced, rivetr)}"
        )
    return "\n".join(lines)


def version(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--uvloop", action="store_true", help="run Rivetr's proxy on uvloop")
    parser.add_argument("--upstreams", type=int, default=1)
    parser.add_argument(
        "--strategy", choices=["round_robin", "least_connections"], default="round_robin"
    )
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--proxies", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    scenarios = [name for name in SCENARIOS if name in args.scenarios]
    chosen = [target for target in TARGETS if target in args.proxies]
    tools = ["wrk", "nginx"] + [tool for tool in ("caddy", "haproxy") if tool in chosen]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"not installed: {' '.join(missing)} (apt-get install -y …)")
    # what `rivetr serve` gets from uvicorn's loop="auto": uvloop whenever it can be imported
    loop = "uvloop" if args.uvloop or has_uvloop(service_python()) else "asyncio"
    # a SIGTERM (a driver's time-out) unwinds like Ctrl-C, through the clean-up below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    tmp = Path(tempfile.mkdtemp(prefix="rivetr-bench-proxy-"))
    servers: list[subprocess.Popen] = []
    began = time.monotonic()
    try:
        # nginx's workers (www-data) read the 1 MiB file and write their temp files under tmp
        tmp.chmod(0o711)
        (tmp / "www").mkdir(mode=0o755)
        (tmp / "nginx").mkdir(mode=0o755)
        (tmp / "www" / "1mb").write_bytes(os.urandom(BIG))
        (tmp / "www" / "1mb").chmod(0o644)
        upstreams = [free_port() for _ in range(args.upstreams)]
        ports = {"direct": upstreams[0], **{target: free_port() for target in TARGETS[1:]}}
        (tmp / "nginx.conf").write_text(
            NGINX.format(
                user="www-data",
                tmp=tmp,
                servers=" ".join(f"server 127.0.0.1:{port};" for port in upstreams),
                listens=" ".join(f"listen 127.0.0.1:{port};" for port in upstreams),
                proxy=ports["nginx"],
            )
        )
        nginx = ["nginx", "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"]
        servers.append(started("nginx", nginx, tmp))
        for port in [*upstreams, ports["nginx"]]:
            wait_listening("nginx", port, servers[-1], tmp)
        if "caddy" in chosen:
            (tmp / "caddy.json").write_text(json.dumps(caddy_config(ports["caddy"], upstreams)))
            env = {**os.environ, "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
            caddy = ["caddy", "run", "--config", str(tmp / "caddy.json")]
            servers.append(started("caddy", caddy, tmp, env=env, cwd=tmp))
            wait_listening("caddy", ports["caddy"], servers[-1], tmp)
        if "haproxy" in chosen:
            members = "\n".join(f"    server s{i} 127.0.0.1:{p}" for i, p in enumerate(upstreams))
            config = HAPROXY.format(port=ports["haproxy"], servers=members)
            (tmp / "haproxy.cfg").write_text(config)
            haproxy = ["haproxy", "-db", "-f", str(tmp / "haproxy.cfg")]
            servers.append(started("haproxy", haproxy, tmp))
            wait_listening("haproxy", ports["haproxy"], servers[-1], tmp)
        rivetr = None
        if "rivetr" in chosen:
            command = [service_python(), "-c", RIVETR, ",".join(map(str, upstreams))]
            command += [str(ports["rivetr"]), loop, args.strategy]
            rivetr = started("rivetr", command, tmp, stdout=subprocess.PIPE, text=True)
            servers.append(rivetr)
            assert rivetr.stdout is not None
            ready = rivetr.stdout.readline().split()
            if ready != ["ready", loop]:
                log = (tmp / "rivetr.log").read_text(errors="replace")
                raise SystemExit(f"Rivetr's proxy did not start on {loop}: {ready}\n{log}")

        # (target, port, Host)
        runs = [(target, ports[target], HOST) for target in chosen]
        if rivetr is not None and args.upstreams > 1:
            balanced = ("rivetr balanced", ports["rivetr"], "balanced.test")
            runs.insert(chosen.index("rivetr") + 1, balanced)
        paths = {SCENARIOS[name][0] for name in scenarios}
        for target, port, host in runs:
            check(target, port, host, paths)

        versions = [version(["nginx", "-v"]).split()[-1]]
        if "caddy" in chosen:
            versions.append("caddy " + version(["caddy", "version"]))
        if "haproxy" in chosen:
            versions.append("HAProxy " + version(["haproxy", "-v"]).split()[2])
        print(
            f"Rivetr's proxy on {loop}; {', '.join(versions)}; wrk -t2 -c{args.connections}, "
            f"{args.seconds} s a run after a {WARM_UP_S} s warm-up; {args.upstreams} upstream(s)",
            flush=True,
        )
        watched = {*upstreams, *ports.values()}
        results: dict[str, dict[str, dict]] = {}
        for name in scenarios:
            path, close = SCENARIOS[name]
            results[name], waits = {}, {}
            for target, port, host in runs:
                print(f"{name}: {target} …", file=sys.stderr, flush=True)
                wrk(port, args.connections, WARM_UP_S, path, close, host)
                before = cpu_seconds(rivetr.pid) if rivetr is not None else 0.0
                run = wrk(port, args.connections, args.seconds, path, close, host)
                if target.startswith("rivetr") and rivetr is not None and run["requests"]:
                    spent = cpu_seconds(rivetr.pid) - before
                    run["cpu_us_per_req"] = round(spent / run["requests"] * 1e6, 1)
                results[name][target], waits[target] = run, time_wait(watched)
            print(table(name, results[name], waits), flush=True)
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        reuse = Path("/proc/sys/net/ipv4/tcp_tw_reuse").read_text().strip()
        print(
            f"\nTIME_WAIT: sockets to or from the ports of this run, counted after each run (they"
            f" last 60 s); ephemeral ports {low}-{high}, net.ipv4.tcp_tw_reuse={reuse}"
            f"\n{time.monotonic() - began:.0f} s in all"
        )
        if args.json is not None:
            figures = {
                "loop": loop,
                "connections": args.connections,
                "seconds": args.seconds,
                "scenarios": results,
            }
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        for server in reversed(servers):
            server.terminate()
        for server in reversed(servers):
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
