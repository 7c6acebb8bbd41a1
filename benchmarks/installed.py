"""The interpreter the measured service runs on: `RIVETR_BENCH_PYTHON` when set (benchmarks/run
sets it to a venv with `pip install .` alone, the default install), else this one (the project's
.venv, where test tools such as pydantic and attrs make Litestar load a plugin for each)."""

from __future__ import annotations

import os
import sys


def service_python() -> str:
    return os.environ.get("RIVETR_BENCH_PYTHON") or sys.executable
