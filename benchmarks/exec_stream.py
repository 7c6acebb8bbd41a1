"""Throughput and memory of exec streams (what a database dump and restore go through).

For each engine that answers (Docker, Podman): a busybox container; `exec_output` of
`head -c SIZE /dev/zero` read to its end, then `exec_input` of SIZE bytes into `cat > /dev/null`.
Prints MB/s and the process's peak RSS growth (a stream held whole would grow it by SIZE).

    python benchmarks/exec_stream.py
    python benchmarks/exec_stream.py --mb 1000
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid
from collections.abc import AsyncIterator

import anyio

from rivetr.adapters.runtime.base import ContainerSpec, EngineUnavailable
from rivetr.adapters.runtime.baseimage import ensure_busybox_image
from rivetr.adapters.runtime.detect import connect_runtime

CHUNK = b"\0" * 65536


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _bench(kind: str, size: int) -> None:
    try:
        runtime = await connect_runtime(kind)  # type: ignore[arg-type]
    except EngineUnavailable:
        print(f"{kind}: no engine answers, skipped")
        return
    name = f"rivetr-bench-exec-{uuid.uuid4().hex[:8]}"
    image = await ensure_busybox_image(runtime)
    await runtime.run_container(
        ContainerSpec(name=name, image=image, command=["sleep", "600"], restart_policy="no")
    )
    try:
        before, started, got = _rss_mb(), time.perf_counter(), 0
        async for chunk in runtime.exec_output(name, ["head", "-c", str(size), "/dev/zero"]):
            got += len(chunk)
        seconds = time.perf_counter() - started
        print(
            f"{kind}: exec_output {got / 1e6:.0f} MB in {seconds:.2f} s = "
            f"{got / 1e6 / seconds:.0f} MB/s, peak RSS +{_rss_mb() - before:.1f} MB"
        )

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(size // len(CHUNK)):
                yield CHUNK

        before, started = _rss_mb(), time.perf_counter()
        result = await runtime.exec_input(name, ["sh", "-c", "cat > /dev/null"], chunks())
        seconds = time.perf_counter() - started
        sent = size // len(CHUNK) * len(CHUNK)
        print(
            f"{kind}: exec_input {sent / 1e6:.0f} MB in {seconds:.2f} s = "
            f"{sent / 1e6 / seconds:.0f} MB/s (exit {result.exit_code}), "
            f"peak RSS +{_rss_mb() - before:.1f} MB"
        )
    finally:
        await runtime.remove_container(name, force=True)
        await runtime.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="bytes to stream each way, in MB")
    args = parser.parse_args()
    for kind in ("docker", "podman"):
        await _bench(kind, args.mb * 1_000_000)


if __name__ == "__main__":
    anyio.run(main)
