"""The house every reactor test on the twins runs in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.service.reactors.house import House


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def house(tmp_path: Path) -> House:
    return House(tmp_path / "data")
