"""The in-memory twin's exec (part of `FakeRuntime`): a table of programs tests register.

Nothing runs in a twin's container, so `on_exec(program, handler)` says what a program does:
the handler gets the call (argv, env, user, the whole stdin) and answers with its stdout
chunks (any iterable: a generator streams without holding them), exit code and stderr. A
program nobody registered fails as a missing binary does (exit 127). An answer with
`hangs=True` never exits by itself: the command runs until it is abandoned (closed early, or
timed out), which the twin records in `running_execs` the way `ps` would show it.
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
)

import anyio
import msgspec

from rivetr.adapters.runtime.base import ContainerError
from rivetr.adapters.runtime.execution import EXEC_CHUNK_BYTES, ExecFailed, ExecResult, Tail
from rivetr.adapters.runtime.fake_container import FakeContainer


class FakeExecCall(msgspec.Struct, frozen=True, kw_only=True):
    container: str  # its name
    argv: list[str]
    env: dict[str, str]
    user: str | None
    stdin: bytes


class FakeExecAnswer(msgspec.Struct, frozen=True, kw_only=True):
    stdout: Iterable[bytes] = ()
    exit_code: int = 0
    stderr: bytes = b""
    hangs: bool = False  # after its output, the command waits until it is killed


ExecHandler = Callable[[FakeExecCall], FakeExecAnswer]


class FakeExec:
    """Exec of `FakeRuntime` (which provides the attributes below)."""

    _get: Callable[[str], FakeContainer]
    _check: Callable[[], None]

    def __init__(self) -> None:
        self._programs: dict[str, ExecHandler] = {}

    def on_exec(self, program: str, handler: ExecHandler) -> None:
        """Make `program` (an argv's first word) answer as `handler` says, in every container."""
        self._programs[program] = handler

    def running_execs(self, container: str) -> list[list[str]]:
        """The commands running in `container` now (started, neither ended nor abandoned)."""
        return [list(argv) for argv in self._get(container).execs]

    def exec_output(
        self,
        container: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> FakeExecOutput:
        return FakeExecOutput(self._stream(container, argv, env, user, b""))

    async def exec_input(
        self,
        container: str,
        argv: list[str],
        chunks: AsyncIterable[bytes],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> ExecResult:
        self._running(container)
        stdin = bytearray()
        async for chunk in chunks:
            stdin += chunk
        return await self._collect(self._stream(container, argv, env, user, bytes(stdin)))

    async def exec_run(
        self,
        container: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout_s: float = 60.0,
    ) -> ExecResult:
        stream = self._stream(container, argv, env, user, b"")
        try:
            with anyio.fail_after(timeout_s):
                return await self._collect(stream)
        finally:
            await stream.aclose()

    # -- plumbing ------------------------------------------------------------------------

    def _answer(
        self,
        container: FakeContainer,
        argv: list[str],
        stdin: bytes,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> FakeExecAnswer:
        handler = self._programs.get(argv[0]) if argv else None
        if handler is None:
            missing = argv[0] if argv else ""
            return FakeExecAnswer(exit_code=127, stderr=f"exec: {missing}: not found\n".encode())
        call = FakeExecCall(
            container=container.spec.name,
            argv=list(argv),
            env=dict(env or {}),
            user=user,
            stdin=stdin,
        )
        return handler(call)

    def _running(self, name: str) -> FakeContainer:
        self._check()
        container = self._get(name)
        if container.state != "running":
            raise ContainerError(f"exec in {name}: container {container.id} is not running")
        return container

    async def _stream(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None,
        user: str | None,
        stdin: bytes,
    ) -> AsyncGenerator[tuple[int, bytes], None]:
        """(stream, data) pieces as the engine's frames bring them; 0 last, with the exit code
        as its data."""
        container = self._running(name)
        answer = self._answer(container, argv, stdin, env, user)
        entry = list(argv)
        container.execs.append(entry)
        try:
            for chunk in _pieces(answer.stdout):
                yield 1, chunk
            yield 2, answer.stderr
            if answer.hangs:
                await anyio.sleep_forever()
            yield 0, str(answer.exit_code).encode()
        finally:
            container.execs.remove(entry)

    async def _collect(self, stream: AsyncGenerator[tuple[int, bytes], None]) -> ExecResult:
        stdout, stderr, code = Tail(), Tail(), -1
        async for kind, data in stream:
            if kind == 0:
                code = int(data)
            else:
                (stdout if kind == 1 else stderr).add(data)
        return ExecResult(exit_code=code, stdout_tail=stdout.bytes(), stderr_tail=stderr.bytes())


class FakeExecOutput:
    """`exec_output` of the twin: stdout pieces, then ExecFailed when the exit code says so."""

    def __init__(self, stream: AsyncGenerator[tuple[int, bytes], None]) -> None:
        self._stream = stream
        self._stderr = b""
        self.peak_buffered_bytes = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        async for kind, data in self._stream:
            if kind == 1:
                self.peak_buffered_bytes = max(self.peak_buffered_bytes, len(data))
                return data
            if kind == 2:
                self._stderr = data
            elif int(data) != 0:
                raise ExecFailed(int(data), self._stderr)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        await self._stream.aclose()


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """`chunks` cut to at most EXEC_CHUNK_BYTES each, as the engine's frames are read."""
    for chunk in chunks:
        for start in range(0, len(chunk), EXEC_CHUNK_BYTES):
            yield chunk[start : start + EXEC_CHUNK_BYTES]
