"""How fast, and in how much memory, the compose reader refuses hostile files, and what an
ordinary large file costs to read.

Each case is made in memory, then `load()` runs on it through the in-memory twin of `Sources`
`--repeat` times (default 5); the median wall time and the peak of Python allocations
(tracemalloc, in a separate run so that tracing does not slow the timed ones) are printed:

- a 10 MB file (refused unread by its size);
- a billion laughs (ten levels of nine aliases: 10**9 nodes once expanded);
- deep anchors (sixty levels of two aliases: 2**60 nodes);
- nesting 5,000 deep (libyaml refuses it), and 65 deep (the reader's bound);
- 1,000 services (over the bound of 500);
- a valid file of 400 services of six keys each (~140 KB, ~16,000 nodes),
  and the awesome-compose `react-express-mysql` file, a typical one, when the vectors are there.

    python benchmarks/compose_bounds.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rivetr.domain.compose.bounds import MAX_DEPTH
from rivetr.domain.compose.loading import load
from rivetr.domain.compose.sources import InMemorySources
from rivetr.domain.compose.where import ComposeError
from tests.compose_bombs import billion_laughs, deep_anchors, nested, services

VECTORS = Path(
    os.environ.get("RIVETR_VECTORS", Path(__file__).resolve().parents[2] / "shared/vectors")
)


CASES: dict[str, Callable[[], bytes]] = {
    "10 MB file": lambda: b"a: " + b"x" * (10 << 20),
    "billion laughs": billion_laughs,
    "deep anchors (2**60)": deep_anchors,
    "nesting 5,000 deep": lambda: nested(5000),
    f"nesting {MAX_DEPTH + 1} deep": lambda: nested(MAX_DEPTH + 1),
    "1,000 services": lambda: services(1000),
    "400 services (valid)": lambda: services(400),
}


def run(content: bytes) -> str:
    try:
        loaded = load(InMemorySources({"compose.yaml": content}), "compose.yaml")
    except ComposeError as exc:
        return f"refused: {exc.problem[:60]}"
    return f"read: {len(loaded.data.get('services', {}))} services"


def measure(content: bytes, repeat: int) -> tuple[str, float, int]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        outcome = run(content)
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    run(content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return outcome, statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = {name: make() for name, make in CASES.items()}
    typical = VECTORS / "compose/awesome-compose/react-express-mysql/compose.yaml"
    if typical.is_file():
        cases["react-express-mysql (typical)"] = typical.read_bytes()
    print(f"| case | size | outcome | median ms (of {args.repeat}) | peak traced MB |")
    print("| --- | --- | --- | --- | --- |")
    for name, content in cases.items():
        outcome, seconds, peak = measure(content, args.repeat)
        print(
            f"| {name} | {len(content):,} B | {outcome} | {seconds * 1000:.1f} |"
            f" {peak / (1 << 20):.1f} |"
        )


if __name__ == "__main__":
    main()
