"""benchmarks/suite.py reads each script's figures into the right verdicts, and every script it
runs takes the `--json` it passes. (The benchmarks themselves run outside the tests.)"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_suite", BENCHMARKS / "suite.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


suite = load_suite()


def run(req_per_s: float, p99_ms: float) -> dict[str, float]:
    return {"req_per_s": req_per_s, "p50_ms": p99_ms / 2, "p99_ms": p99_ms, "non_2xx": 0}


def test_proxy_figures_are_judged_against_each_anchor() -> None:
    figures = {
        "loop": "asyncio",
        "scenarios": {
            "keep-alive small": {
                "rivetr": run(9_000, 4.0),
                "caddy": run(10_000, 3.0),
                "nginx": run(12_000, 2.0),
                "haproxy": run(20_000, 1.0),
            }
        },
    }
    rows = {(row.anchor_name, row.unit): row for row in suite.proxy_rows(figures)}
    assert rows["Caddy", "req/s"].ratio == pytest.approx(0.9)
    assert rows["Caddy", "req/s"].met is False  # >= 1.0 x Caddy
    assert rows["nginx", "req/s"].met is True  # 0.75 >= 0.7 x nginx
    assert rows["nginx", "ms"].ratio == pytest.approx(2.0)
    assert rows["nginx", "ms"].met is True  # p99 <= 2 x nginx's, the bound allowed
    assert rows["HAProxy", "req/s"].met is None  # recorded, no goal


def test_strict_goals_refuse_the_bound_itself() -> None:
    idle = {"window_s": 300, "cpu_pct": 0.05, "rss_mb": 50.0, "anchor": None}
    rss, cpu = suite.idle_rows(idle)
    assert rss.met is True  # <= 50 MB
    assert cpu.met is False  # < 0.05 %
    assert cpu.anchor is None
    assert cpu.ratio is None


def test_a_missed_goal_stands_out_in_the_table() -> None:
    ten = {"store": 20_000, "raw_a": 150_000, "raw_b": 25_000, "raw_c": 30_000}
    figures = {"writers": {"10": ten}}
    text = suite.table(suite.append_rows(figures))
    assert "| appends, 10 concurrent writers | 20,000 ev/s |" in text
    assert (
        "0.13 \N{MULTIPLICATION SIGN} | \u2265 0.5 \N{MULTIPLICATION SIGN} anchor | **no** |"
        in text
    )


@pytest.mark.parametrize("benchmark", suite.BENCHMARKS, ids=lambda b: b.name)
def test_every_script_the_suite_runs_writes_json(benchmark: object) -> None:
    script = BENCHMARKS / benchmark.script  # type: ignore[attr-defined]
    shown = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=True
    )
    assert "--json" in shown.stdout
