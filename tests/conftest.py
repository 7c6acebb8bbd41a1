"""Shared fixtures: the anyio backend and where the shared test vectors live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """../shared/vectors beside the checkout, or RIVETR_VECTORS; skip with a reason if absent."""
    default = Path(__file__).resolve().parents[2] / "shared" / "vectors"
    path = Path(os.environ.get("RIVETR_VECTORS", default))
    if not path.is_dir():
        pytest.skip(f"shared test vectors not found at {path} (set RIVETR_VECTORS)")
    return path
