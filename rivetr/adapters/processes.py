"""Running an outside command (git, a build CLI) so that cancelling the caller kills it whole.

The command runs in a new session: it has no controlling terminal (so nothing it starts can open
/dev/tty and wait for an answer), and its process group, helpers included (ssh,
git-remote-https, a builder's children), is killed when the calling task is cancelled or fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
from anyio.abc import Process


@asynccontextmanager
async def process_group(command: Sequence[str], **options: Any) -> AsyncIterator[Process]:
    """Start `command` (stdin closed) and yield it; kill its whole group if the body raises or
    is cancelled, and always release its pipes."""
    process = await anyio.open_process(
        list(command), stdin=subprocess.DEVNULL, start_new_session=True, **options
    )
    try:
        yield process
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _kill_group(process)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await process.aclose()


async def _kill_group(process: Process) -> None:
    if process.returncode is None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
