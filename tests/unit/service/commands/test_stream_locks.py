"""Commands of one process deciding on one stream take turns; on different streams they do not
wait for each other; the table forgets a stream once nobody holds it."""

from __future__ import annotations

import anyio
import pytest

from rivetr.service.commands.stream_locks import StreamLocks

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_commands_on_one_stream_take_turns_and_others_go_on() -> None:
    locks = StreamLocks()
    inside: list[str] = []
    most = 0

    async def command(name: str, streams: list[str]) -> None:
        nonlocal most
        async with locks.holding(streams):
            inside.append(name)
            most = max(most, sum(1 for n in inside if n.startswith("claims")))
            await anyio.sleep(0.01)
            inside.remove(name)

    with anyio.fail_after(2):
        async with anyio.create_task_group() as group:
            for n in range(5):
                group.start_soon(command, f"claims-{n}", ["claims", f"app-{n}"])
            group.start_soon(command, "other", ["app-x"])

    assert most == 1  # never two deciding on claims at once
    assert len(locks) == 0


async def test_two_commands_over_the_same_streams_in_any_order_never_deadlock() -> None:
    locks = StreamLocks()

    async def command(streams: list[str]) -> None:
        async with locks.holding(streams):
            await anyio.sleep(0.005)

    with anyio.fail_after(2):
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(command, ["a", "b"])
                group.start_soon(command, ["b", "a"])
    assert len(locks) == 0
