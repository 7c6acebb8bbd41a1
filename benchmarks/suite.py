"""Every benchmark of issue 23 in one run, side by side with its anchor, as one table.

Runs each benchmark script as a subprocess with `--json`, in turn (never two at once: they would
measure each other), reads its figures back and prints one table: the figure, ours, the anchor
measured in the same run, the ratio, the goal and whether it is met. The table, with the date,
the commit and the machine, is appended to benchmarks/RESULTS.md (unless `--no-record`).
`benchmarks/run` installs the anchors (nginx, Caddy, HAProxy, wrk) and the engine, then calls this.

    benchmarks/run                        # everything, ~25 minutes
    benchmarks/run --only proxy append    # some of it
    benchmarks/run --quick --no-record    # every script end to end on small sizes (~8 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

Figures = dict[str, Any]
X = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class Benchmark:
    """One script, the arguments of a full and of a quick run, and how its figures read."""

    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    rows: Callable[[Figures], list[Row]]


@dataclass(frozen=True)
class Goal:
    """What a figure must reach: at least (or at most) a bound, on the figure itself or on its
    ratio to the anchor, the bound itself allowed unless `strict`; a bound of `None` for a figure
    recorded beside the others."""

    bound: float | None
    at_least: bool
    on_ratio: bool
    strict: bool = False

    def met(self, ours: float, ratio: float | None) -> bool | None:
        if self.bound is None:
            return None
        value = ratio if self.on_ratio else ours
        if value is None:
            return None
        if value == self.bound:
            return not self.strict
        return value > self.bound if self.at_least else value < self.bound


RECORDED = Goal(None, True, False)


@dataclass(frozen=True)
class Row:
    figure: str
    unit: str
    ours: float
    anchor_name: str
    anchor: float | None
    goal: Goal
    goal_text: str

    @property
    def ratio(self) -> float | None:
        if self.anchor is None or self.anchor == 0:
            return None
        return self.ours / self.anchor

    @property
    def met(self) -> bool | None:
        return self.goal.met(self.ours, self.ratio)


# --- what each script's figures say ---------------------------------------------------------


def append_rows(figures: Figures) -> list[Row]:
    ten = figures["writers"]["10"]
    return [
        Row(
            "appends, 10 concurrent writers",
            "ev/s",
            ten["store"],
            "sqlite3 executemany, one transaction",
            ten["raw_a"],
            Goal(0.5, at_least=True, on_ratio=True),
            f"≥ 0.5 {X} anchor",
        ),
        Row(
            "appends, 10 concurrent writers",
            "ev/s",
            ten["store"],
            "sqlite3, one transaction a row",
            ten["raw_b"],
            RECORDED,
            "recorded",
        ),
        Row(
            "appends, 10 concurrent writers",
            "ev/s",
            ten["store"],
            "sqlite3, ten rows a transaction",
            ten["raw_c"],
            RECORDED,
            "recorded",
        ),
    ]


def rebuild_rows(figures: Figures) -> list[Row]:
    return [
        Row(
            f"rebuild of a {figures['events']:,}-event log, every projection",
            "ev/s",
            figures["ev_per_s"],
            "reading and decoding the log alone",
            figures["floor_ev_per_s"],
            Goal(50_000, at_least=True, on_ratio=False),
            "≥ 50,000 ev/s",
        )
    ]


def deploy_rows(figures: Figures) -> list[Row]:
    median = figures["median_ms"]
    return [
        Row(
            "engine overhead per deploy (median)",
            "ms",
            median["overhead"],
            "the engine's own build and start",
            median["engine"],
            Goal(100, at_least=False, on_ratio=False),
            "≤ 100 ms",
        )
    ]


def sse_rows(figures: Figures) -> list[Row]:
    return [
        Row(
            f"SSE, one event to {figures['subscribers']:,} subscribers, p99",
            "ms",
            figures["p99_ms"],
            "the same deliveries' p50",
            figures["p50_ms"],
            Goal(50, at_least=False, on_ratio=False, strict=True),
            "< 50 ms",
        )
    ]


def idle_rows(figures: Figures) -> list[Row]:
    anchor = figures.get("anchor") or {}
    name = anchor.get("name", "")
    window = f"{figures['window_s'] / 60:.0f} min"
    return [
        Row(
            "idle RSS, everything configured",
            "MB",
            figures["rss_mb"],
            f"{name} idle, serving HTTPS" if name else "",
            anchor.get("rss_mb"),
            Goal(50, at_least=False, on_ratio=False),
            "≤ 50 MB",
        ),
        Row(
            f"idle CPU over {window}, everything configured",
            "%",
            figures["cpu_pct"],
            f"{name} idle, serving HTTPS" if name else "",
            anchor.get("cpu_pct"),
            Goal(0.05, at_least=False, on_ratio=False, strict=True),
            "< 0.05 %",
        ),
    ]


# (the anchor's key in proxy.py's figures, its name, the figure compared, the goal, its text)
PROXY_GOALS = [
    ("caddy", "Caddy", "req_per_s", Goal(1.0, at_least=True, on_ratio=True), f"≥ 1.0 {X} Caddy"),
    ("nginx", "nginx", "req_per_s", Goal(0.7, at_least=True, on_ratio=True), f"≥ 0.7 {X} nginx"),
    ("nginx", "nginx", "p99_ms", Goal(2.0, at_least=False, on_ratio=True), f"≤ 2 {X} nginx"),
    ("haproxy", "HAProxy", "req_per_s", RECORDED, "recorded"),
]


def proxy_rows(figures: Figures) -> list[Row]:
    rows = []
    loop = figures.get("loop", "asyncio")
    for scenario, runs in figures["scenarios"].items():
        for key, name, figure, goal, goal_text in PROXY_GOALS:
            if key not in runs:
                continue
            latency = figure == "p99_ms"
            rows.append(
                Row(
                    f"proxy, {scenario} ({loop})" + (", p99 latency" if latency else ""),
                    "ms" if latency else "req/s",
                    runs["rivetr"][figure],
                    name,
                    runs[key][figure],
                    goal,
                    goal_text,
                )
            )
    return rows


BENCHMARKS = [
    Benchmark(
        "idle",
        "idle.py",
        ("--everything", "--anchor", "caddy", "--seconds", "300"),
        ("--everything", "--anchor", "caddy", "--seconds", "20"),
        idle_rows,
    ),
    Benchmark(
        "proxy",
        "proxy.py",
        ("--seconds", "10"),
        ("--seconds", "2"),
        proxy_rows,
    ),
    Benchmark(
        "append",
        "append.py",
        ("--writers", "10", "--repeat", "3"),
        ("--writers", "10", "--repeat", "1", "--events", "2000"),
        append_rows,
    ),
    Benchmark(
        "rebuild",
        "rebuild.py",
        ("--events", "1000000"),
        ("--events", "50000"),
        rebuild_rows,
    ),
    Benchmark(
        "deploy",
        "deploy_overhead.py",
        ("--deploys", "10"),
        ("--deploys", "2"),
        deploy_rows,
    ),
    Benchmark(
        "sse",
        "sse_fanout.py",
        ("--subscribers", "1000", "--events", "20"),
        ("--subscribers", "100", "--events", "3"),
        sse_rows,
    ),
]


# --- the table ---------------------------------------------------------------------------------


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "%":
        text = f"{value:.3f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.1f}"
    return f"{text} {unit}".rstrip()


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | ours | anchor (same run) | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        anchor = f"{row.anchor_name}: {number(row.anchor, row.unit)}" if row.anchor_name else "—"
        ratio = f"{row.ratio:.2f} {X}" if row.ratio is not None else "—"
        met = {True: "yes", False: "**no**", None: "—"}[row.met]
        lines.append(
            f"| {row.figure} | {number(row.ours, row.unit)} | {anchor} | {ratio}"
            f" | {row.goal_text} | {met} |"
        )
    return "\n".join(lines)


# --- the machine and the code ------------------------------------------------------------------


def first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def memory_gb() -> float:
    first = Path("/proc/meminfo").read_text().splitlines()[0]
    return int(first.split()[1]) / 2**20


def commit() -> str:
    head = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    # RESULTS.md itself is what a run writes: its own changes do not make the code another
    dirty = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)benchmarks/RESULTS.md",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"`{head}`" + (" plus uncommitted changes" if dirty else "")


def machine() -> str:
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), {memory_gb():.0f} GB of RAM,"
        f" Linux {platform.release()}; Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}; {first_line(['docker', '--version'])};"
        f" anchors: {first_line(['nginx', '-v'])}, Caddy {first_line(['caddy', 'version'])},"
        f" {' '.join(first_line(['haproxy', '-v']).split()[:3])}"
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- running -------------------------------------------------------------------------------------


def run(benchmark: Benchmark, quick: bool, folder: Path) -> tuple[Figures | None, float, str]:
    """Run one script, its output shown as it comes and kept; its figures, seconds, and the
    reason it gave none."""
    output = folder / f"{benchmark.name}.json"
    arguments = benchmark.quick if quick else benchmark.full
    command = [sys.executable, str(HERE / benchmark.script), *arguments, "--json", str(output)]
    print(f"\n=== {benchmark.name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        return None, seconds, f"exited {done.returncode}"
    if not output.exists():
        return None, seconds, "wrote no figures"
    return json.loads(output.read_text()), seconds, ""


def chosen(names: list[str] | None) -> Iterator[Benchmark]:
    for benchmark in BENCHMARKS:
        if not names or benchmark.name in names:
            yield benchmark


def record(results: Path, text: str) -> None:
    with results.open("a") as out:
        out.write("\n" + text + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHMARKS])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()

    started = datetime.now(UTC)
    rows: list[Row] = []
    failures: list[str] = []
    timings: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="rivetr-bench-suite-"))
    try:
        for benchmark in chosen(args.only):
            load = load_average()
            figures, seconds, failure = run(benchmark, args.quick, folder)
            timings.append(f"{benchmark.name} {seconds:.0f} s (load before: {load})")
            if figures is None:
                failures.append(f"{benchmark.name}: {failure}")
                continue
            rows.extend(benchmark.rows(figures))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    command = "benchmarks/run" + "".join(f" {a}" for a in sys.argv[1:] if a not in ("--no-record",))
    text = "\n\n".join(
        part
        for part in (
            f"## `{command}`: {started:%Y-%m-%d %H:%M} UTC, commit {commit()}",
            f"Machine: {machine()}.",
            table(rows),
            "Time each took: " + "; ".join(timings) + ".",
            ("Gave no figures: " + "; ".join(failures) + ".") if failures else "",
        )
        if part
    )
    print("\n" + text)
    if not args.no_record and rows:
        record(args.results, text)
        print(f"\nwritten to {args.results}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
