"""Commands run in a container with their output and input streamed, never held whole.

A database dump of a gigabyte goes through `exec_output`, a restore through `exec_input`: the
engine's hijacked exec connection is read one frame piece at a time, each read in a worker
thread and only when the consumer asks for more, so a slow consumer slows the command down
instead of filling memory.

Measured on Docker 20.10 and Podman 4.3 (compat API): both speak the same multiplexed frames
(Docker's are up to 32 KB, Podman's up to 8 KB) and both pass a half-close of the connection on
as EOF of the command's stdin. Podman often sends the first frames in the same write as the
HTTP answer's headers, so they sit in the HTTP client's buffer, not in the socket: they are
taken from there first (`_read_ahead`). The SDK leaves the client's timeout on the socket: it
is lifted, a dump may be silent for minutes.

Neither engine stops a command whose client went away: it blocks on its full stdout pipe for
ever, and Podman even reports it exited (-1) while it still runs. No API kills an exec, so each
command runs under `sh -c 'echo $$; exec "$@"'`, which tells its process id (an exec is its own
session and process group leader on both engines) on the first line of stdout (not stderr: the
engines interleave the two streams in any order, and the pid must come before any output), and
abandoning the command kills that group from a second exec. Reading stdout one frame per worker
thread hop would cap a dump at Podman's 8 KB frames; the frames already arrived are joined.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import suppress
from typing import Any

import anyio
import anyio.to_thread
import docker  # type: ignore[import-untyped]

from rivetr.adapters.runtime.base import ContainerError
from rivetr.adapters.runtime.docker_engine import DockerEngine
from rivetr.adapters.runtime.execution import EXEC_CHUNK_BYTES, ExecFailed, ExecResult, Tail

_WRAPPER = ["/bin/sh", "-c", 'echo "$$"; exec "$@"', "rivetr-exec"]
_STDOUT, _STDERR = 1, 2
_EXIT_WAIT_S = 10.0  # how long an ended stream may wait for the engine to record the exit code


class _Session:
    """One exec on the engine: its connection, the frame being read, its process group."""

    def __init__(self, engine: DockerEngine, container: str, argv: list[str]) -> None:
        self.engine = engine
        self.container = container
        self.argv = argv
        self.stdout = Tail()
        self.stderr = Tail()
        self.ended = False  # the stream reached its end: the command exited
        self._id = ""
        self._sock: socket.socket | None = None
        self._frame: tuple[int, int] = (0, 0)  # stream, bytes of it left to read
        self._pid: int | None = None
        self._first_line = b""  # the wrapper's line with the pid, until it is whole
        self._reading = False  # a worker thread is in `read_piece`
        self._pending = b""  # read from the socket with the HTTP headers, not yet handed out

    async def start(self, env: dict[str, str] | None, user: str | None, stdin: bool) -> None:
        def start(client: docker.DockerClient) -> None:
            created = client.api.exec_create(
                self.container,
                [*_WRAPPER, *self.argv],
                stdin=stdin,
                stdout=True,
                stderr=True,
                environment=dict(env or {}),
                user=user or "",
            )
            self._id = str(created["Id"])
            hijacked = client.api.exec_start(self._id, socket=True)
            self._pending = _read_ahead(hijacked)
            self._sock = hijacked._sock
            self._sock.settimeout(None)  # not the client's: a dump may be silent for minutes

        await self.engine._run(f"exec {self.argv[0]} in {self.container}", start)

    def read_piece(self) -> tuple[int, bytes] | None:
        """The next piece of output (at most EXEC_CHUNK_BYTES), or None at the stream's end:
        stdout frames already arrived are joined (Podman's are 8 KB: one worker-thread hop
        each would cap a dump's speed). Blocking: run it in a worker thread."""
        assert self._sock is not None
        self._reading = True
        try:
            first = self._next(EXEC_CHUNK_BYTES)
            if first is None or first[0] != _STDOUT:
                return first
            data = bytearray(first[1])
            while len(data) < EXEC_CHUNK_BYTES and self._ready():
                if self._frame[1] == 0 and (not self._header() or self._frame[0] != _STDOUT):
                    break  # the end, or stderr: for the next call
                more = self._next(EXEC_CHUNK_BYTES - len(data))
                if more is None:
                    break
                data += more[1]
            return _STDOUT, bytes(data)
        except ConnectionResetError:
            # Podman resets the connection of a command that exited with input still unread;
            # its exit code says whether it ended well
            self.ended = True
            return None
        except OSError as exc:
            raise ContainerError(f"exec {self.argv[0]} in {self.container}: {exc}") from exc
        finally:
            self._reading = False

    def _next(self, limit: int) -> tuple[int, bytes] | None:
        """The next piece of the current frame (of the next one, at a frame's end)."""
        assert self._sock is not None
        if self._frame[1] == 0 and not self._header():
            return None
        stream, left = self._frame
        data = self._recv(min(left, limit))
        if not data:
            self.ended = True
            return None
        self._frame = (stream, left - len(data))
        if stream == _STDOUT and self._pid is None:
            data = self._take_pid(data)
        return stream, data

    def _header(self) -> bool:
        """Read the next frame's header; False at the stream's end."""
        while self._frame[1] == 0:  # an empty frame has nothing to read
            header = self._read_exactly(8)
            if header is None:
                self.ended = True
                return False
            self._frame = struct.unpack(">BxxxL", header)
        return True

    def _recv(self, size: int) -> bytes:
        assert self._sock is not None
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        return self._sock.recv(size)

    def _ready(self) -> bool:
        """Whether there is something to read at once."""
        assert self._sock is not None
        return bool(self._pending) or bool(select.select([self._sock], [], [], 0)[0])

    def _read_exactly(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            more = self._recv(size - len(data))
            if not more:
                return None
            data += more
        return data

    def _take_pid(self, data: bytes) -> bytes:
        self._first_line += data
        line, newline, rest = self._first_line.partition(b"\n")
        if not newline:
            return b""
        with suppress(ValueError):
            self._pid = int(line)
        self._first_line = b""
        return rest

    def send(self, chunk: bytes) -> bool:
        """Write `chunk` to the command's stdin; False when the command no longer reads."""
        assert self._sock is not None
        try:
            self._sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    def end_input(self) -> None:
        assert self._sock is not None
        with suppress(OSError):  # the command is gone already
            self._sock.shutdown(socket.SHUT_WR)

    async def exit_code(self) -> int:
        def inspect(client: docker.DockerClient) -> int:
            deadline = time.monotonic() + _EXIT_WAIT_S
            while True:
                state: dict[str, Any] = client.api.exec_inspect(self._id)
                if not state.get("Running") or time.monotonic() > deadline:
                    code = state.get("ExitCode")
                    return -1 if code is None else int(code)
                time.sleep(0.02)  # the stream ends a moment before the engine records the exit

        self.close()
        return await self.engine._run(f"exit code of {self.argv[0]}", inspect)

    def close(self) -> None:
        if self._sock is not None:
            with suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # ends a read blocked in another thread
            self._sock.close()

    async def abandon(self) -> None:
        """Cut the connection and kill the command with its children, if it still runs."""
        if self._pid is None and not self.ended and not self._reading and self._sock:
            # abandoned before its first line: read on to the pid (what is read is dropped)
            self._sock.settimeout(_EXIT_WAIT_S)
            with anyio.CancelScope(shield=True), suppress(ContainerError, OSError):
                while self._pid is None and await _read(self) is not None:
                    pass
        ended = self.ended  # before the cut, which ends a read in another thread as an EOF would
        self.close()
        if ended or self._pid is None:
            return
        kill = f"kill -KILL -{self._pid} 2>/dev/null || kill -KILL {self._pid} 2>/dev/null"

        def run_kill(client: docker.DockerClient) -> None:
            created = client.api.exec_create(self.container, ["/bin/sh", "-c", kill])
            client.api.exec_start(created["Id"])

        with anyio.CancelScope(shield=True), suppress(ContainerError):  # the container is gone
            await self.engine._run(f"kill exec {self.argv[0]}", run_kill)


class DockerExecOutput:
    """The stdout of one exec, as `ContainerRuntime.exec_output` describes it."""

    def __init__(self, session: _Session, env: dict[str, str] | None, user: str | None) -> None:
        self._session = session
        self._env = env
        self._user = user
        self._started = False
        self._done = False
        self.peak_buffered_bytes = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        session = self._session
        try:
            if not self._started:
                self._started = True
                await session.start(self._env, self._user, stdin=False)
            while (piece := await _read(session)) is not None:
                stream, data = piece
                if stream != _STDOUT:
                    session.stderr.add(data)
                elif data:  # empty: what was read was the wrapper's line
                    self.peak_buffered_bytes = max(self.peak_buffered_bytes, len(data))
                    return data
        except BaseException:
            self._done = True
            await session.abandon()
            raise
        self._done = True
        code = await session.exit_code()
        if code != 0:
            raise ExecFailed(code, session.stderr.bytes())
        raise StopAsyncIteration

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            if self._started:
                await self._session.abandon()


async def _read(session: _Session) -> tuple[int, bytes] | None:
    # abandoned on cancellation: the caller then cuts the connection, which ends the read
    return await anyio.to_thread.run_sync(session.read_piece, abandon_on_cancel=True)


class DockerExec(DockerEngine):
    """Commands run in containers of one engine (see `ContainerRuntime`)."""

    def exec_output(
        self,
        container: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> DockerExecOutput:
        return DockerExecOutput(_Session(self, container, argv), env, user)

    async def exec_input(
        self,
        container: str,
        argv: list[str],
        chunks: AsyncIterable[bytes],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> ExecResult:
        session = _Session(self, container, argv)
        await session.start(env, user, stdin=True)
        failures: list[BaseException] = []  # raised as they are, not in an exception group
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_collect_then_stop, session, group.cancel_scope, failures)
                try:
                    async for chunk in chunks:
                        if not await anyio.to_thread.run_sync(
                            session.send, chunk, abandon_on_cancel=True
                        ):
                            break  # the command no longer reads: its exit code will say why
                    session.end_input()
                except Exception as exc:  # the caller's chunks failed
                    failures.append(exc)
                    group.cancel_scope.cancel()
            if failures:
                raise failures[0]
        except BaseException:
            await session.abandon()
            raise
        return await _result(session)

    async def exec_run(
        self,
        container: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout_s: float = 60.0,
    ) -> ExecResult:
        session = _Session(self, container, argv)
        await session.start(env, user, stdin=False)
        try:
            with anyio.fail_after(timeout_s):
                await _collect(session)
        except BaseException:
            await session.abandon()
            raise
        return await _result(session)


def _read_ahead(hijacked: Any) -> bytes:
    """What the HTTP client read past the answer's headers into its buffer: the stream's first
    bytes, which a read of the socket would miss (Podman sends them with the headers)."""
    buffered = getattr(getattr(getattr(hijacked, "_response", None), "raw", None), "_fp", None)
    reader = getattr(buffered, "fp", None)
    if reader is None or not hasattr(reader, "read1"):
        return b""
    # one read at most: what is buffered, or else the stream's first bytes (the wrapper's line
    # comes at once, so this does not wait on the command)
    return bytes(reader.read1(EXEC_CHUNK_BYTES))


async def _collect(session: _Session) -> None:
    """Read the command's output to its end, keeping the tail of each stream."""
    while (piece := await _read(session)) is not None:
        stream, data = piece
        (session.stdout if stream == _STDOUT else session.stderr).add(data)


async def _collect_then_stop(
    session: _Session, feeding: anyio.CancelScope, failures: list[BaseException]
) -> None:
    """Collect the output of a command being fed; once it ended, stop feeding it."""
    try:
        await _collect(session)
    except Exception as exc:
        failures.append(exc)
    feeding.cancel()


async def _result(session: _Session) -> ExecResult:
    code = await session.exit_code()
    return ExecResult(
        exit_code=code, stdout_tail=session.stdout.bytes(), stderr_tail=session.stderr.bytes()
    )
