"""A real small disk for tests of what happens when one fills up: a tmpfs of a given size,
mounted for the test (root is needed; without it the test is skipped, saying why)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of `size` (`1m`, `3m`) at `where` (made if need be) while in use."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here (root is needed): {mounted.stderr.decode().strip()}"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def resize(disk: Path, size: str) -> None:
    """Grow or shrink a mounted tmpfs: room comes back (or goes) at once."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)
