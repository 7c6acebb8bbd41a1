"""What the runtime port says about commands run in a container: their results and failures,
and the bounds on what is kept of their output."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import msgspec

EXEC_TAIL_BYTES = 64 * 1024  # how much of an exec's stderr (or small stdout) is kept: its end
EXEC_CHUNK_BYTES = 256 * 1024  # the most an exec stream reads ahead of its consumer


class ExecResult(msgspec.Struct, frozen=True, kw_only=True):
    exit_code: int
    stdout_tail: bytes  # the last EXEC_TAIL_BYTES of what the command wrote
    stderr_tail: bytes


class ExecFailed(Exception):
    """A command run in a container exited non-zero; `stderr_tail` is the end of its stderr."""

    def __init__(self, exit_code: int, stderr_tail: bytes) -> None:
        last = stderr_tail.decode("utf-8", errors="replace").strip().splitlines()[-1:]
        super().__init__(f"exit code {exit_code}" + (f": {last[0]}" if last else ""))
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class ExecOutput(Protocol):
    """The stdout of a command run in a container, chunk by chunk (see `exec_output`)."""

    peak_buffered_bytes: int  # the most bytes held at once: never above EXEC_CHUNK_BYTES

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def __anext__(self) -> bytes: ...

    async def aclose(self) -> None: ...


class Tail:
    """The last `limit` bytes of a stream."""

    def __init__(self, limit: int = EXEC_TAIL_BYTES) -> None:
        self._limit = limit
        self._data = bytearray()

    def add(self, data: bytes) -> None:
        self._data += data
        if len(self._data) > self._limit:
            del self._data[: len(self._data) - self._limit]

    def bytes(self) -> bytes:
        return bytes(self._data)
