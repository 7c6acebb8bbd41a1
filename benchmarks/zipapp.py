"""The single-file build (`./build-pyz.sh`, a shiv zipapp): its size, and how long it takes to
start, against the same code run from its venv (`python -m rivetr.cli`).

  - `--version`: the process started to its exit;
  - `serve`: the process started to `/api/v1/health` answering 200, on a fresh data directory
    and a free port, with no engine and no proxy (what is timed is starting, not the engine).

"cold" is the first run on a machine: the zipapp unpacks itself into an empty SHIV_ROOT first;
"warm" is the median of the later runs, which find it unpacked.

    python benchmarks/zipapp.py            # builds dist/rivetr.pyz when it is missing
    python benchmarks/zipapp.py --build    # builds it again first (and times the build)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYZ = ROOT / "dist" / "rivetr.pyz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed_version(command: Sequence[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    took = time.monotonic() - started
    if not done.stdout.startswith("rivetr "):
        raise RuntimeError(f"--version printed {done.stdout!r}")
    return took


def timed_serve(command: Sequence[str], env: dict[str, str], scratch: Path) -> float:
    """Seconds from starting `serve` to its health answering."""
    port = free_port()
    data = Path(tempfile.mkdtemp(dir=scratch))
    served = {
        **env,
        "RIVETR_DATA": str(data),
        "RIVETR_PORT": str(port),
        "RIVETR_ENGINE": "none",
        "RIVETR_PROXY_ENABLED": "false",
    }
    url = f"http://127.0.0.1:{port}/api/v1/health"
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "serve"], env=served, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.monotonic() - started < 60:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                time.sleep(0.02)
        raise RuntimeError("serve did not answer within 60 s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(name: str, command: Sequence[str], scratch: Path, runs: int) -> list[str]:
    shiv_root = Path(tempfile.mkdtemp(dir=scratch))
    env = {**os.environ, "SHIV_ROOT": str(shiv_root)}
    cold_version = timed_version([*command, "--version"], env)
    warm_version = statistics.median(
        timed_version([*command, "--version"], env) for _ in range(runs)
    )
    fresh = {**env, "SHIV_ROOT": str(Path(tempfile.mkdtemp(dir=scratch)))}
    cold_serve = timed_serve(command, fresh, scratch)
    warm_serve = statistics.median(timed_serve(command, env, scratch) for _ in range(runs))
    return [
        f"| {name} | `--version` | {cold_version:.2f} s | {warm_version:.2f} s |",
        f"| {name} | `serve` to health | {cold_serve:.2f} s | {warm_serve:.2f} s |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="build dist/rivetr.pyz again first")
    parser.add_argument("--runs", type=int, default=5, help="warm runs to take the median of")
    parser.add_argument(
        "--python", default="python3", help="the interpreter that runs the zipapp (python3)"
    )
    args = parser.parse_args()
    if args.build or not PYZ.exists():
        started = time.monotonic()
        subprocess.run([str(ROOT / "build-pyz.sh")], check=True, stdout=subprocess.DEVNULL)
        print(f"built with ./build-pyz.sh in {time.monotonic() - started:.1f} s")
    python = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"dist/rivetr.pyz: {PYZ.stat().st_size / 1e6:.1f} MB, run by Python {python}")
    print()
    print("| build | command | cold | warm (median) |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="rivetr-zipapp-") as scratch:
        for name, command in [
            ("zipapp", [args.python, str(PYZ)]),
            ("venv", [sys.executable, "-m", "rivetr.cli"]),
        ]:
            for line in measure(name, command, Path(scratch), args.runs):
                print(line, flush=True)


if __name__ == "__main__":
    main()
