"""Shared fixtures (the anyio backend, where the shared test vectors live) and how the suite is
spread over pytest-xdist's workers."""

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


# the marks of tests that talk to a real outside system (see pyproject.toml's markers)
OUTSIDE_MARKS = frozenset({"integration", "docker", "podman", "e2e", "acme", "browser", "swarm"})
OUTSIDE_DIRS = frozenset({"integration", "e2e"})


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`tests/run` passes `-n 2 --dist loadgroup`): the tests of real
    outside systems run one after another on one worker, as without xdist, because they share
    one engine, its images, networks and published ports, and the swarm lab; every other test
    file goes whole to whichever worker is free (its module fixtures are made once)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))


def _group(item: pytest.Item) -> str:
    path = item.path.relative_to(Path(__file__).parent)
    marked = any(item.get_closest_marker(name) is not None for name in OUTSIDE_MARKS)
    if marked or OUTSIDE_DIRS & set(path.parts):
        return "outside"
    return path.as_posix()
