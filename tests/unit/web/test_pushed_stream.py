"""The event stream's response, written by the hub itself: every event once and in order, also
while the client's socket is full; a client that stays too far behind is cut off without
holding up the others; heartbeats while nothing happens."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from rivetr.service.reactors.hub import EventHub, StreamFilter
from rivetr.web.pushed_stream import KEEP_ALIVE, PushedEventStream
from tests.unit.service.test_hub import append

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the response drives ASGI sends as asyncio coroutines


class Client:
    """An ASGI server's side of one response: what was sent, a socket that can fill up (sends
    wait while `writable` is clear), and a disconnect to trigger."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.gone = asyncio.Event()
        self.waited = 0  # sends that had to wait

    async def send(self, message: dict[str, Any]) -> None:
        if not self.writable.is_set():
            self.waited += 1
            await self.writable.wait()
        self.messages.append(message)

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def positions(self) -> list[int]:
        return [
            int(m["body"].split(b"\n", 1)[0].removeprefix(b"id: "))
            for m in self.messages
            if m.get("body", b"").startswith(b"id: ")
        ]

    def ended(self) -> bool:
        return self.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def serve(hub: EventHub, client: Client, *, limit: int = 1000, heartbeat_s: float = 10.0):
    response = PushedEventStream(hub, StreamFilter(), 0, heartbeat_s=heartbeat_s, limit=limit)
    return asyncio.ensure_future(response({}, client.receive, client.send))  # type: ignore[arg-type]


async def until(condition, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def finished(served: asyncio.Future[None]) -> None:
    await until(served.done)
    served.result()


async def test_history_then_live_events_once_each_in_order_then_the_end(hub) -> None:
    for n in range(3):
        await append(hub, n)
    client = Client()
    served = serve(hub, client)
    await until(lambda: client.positions() == [1, 2, 3])
    await until(lambda: hub.subscriptions)
    for n in range(3, 10):
        await append(hub, n)
    await until(lambda: len(client.positions()) == 10)
    client.gone.set()
    await finished(served)
    assert client.messages[0]["type"] == "http.response.start"
    assert client.positions() == list(range(1, 11))
    assert client.ended()
    assert not hub.subscriptions


async def test_a_full_socket_holds_events_back_in_order_until_it_drains(hub) -> None:
    client = Client()
    served = serve(hub, client)
    await until(lambda: hub.subscriptions)
    client.writable.clear()
    for n in range(20):
        await append(hub, n)
    await until(lambda: client.waited == 1)
    await asyncio.sleep(0.1)
    assert client.positions() == []  # one send waits, the others queue behind it
    client.writable.set()
    await until(lambda: len(client.positions()) == 20)
    assert client.positions() == list(range(1, 21))
    assert client.waited == 1
    client.gone.set()
    await finished(served)


async def test_a_client_too_far_behind_is_cut_off_and_the_others_get_everything(hub) -> None:
    slow, fast = Client(), Client()
    served_slow, served_fast = serve(hub, slow, limit=5), serve(hub, fast, limit=5)
    await until(lambda: len(hub.subscriptions) == 2)
    slow.writable.clear()
    for n in range(30):
        await append(hub, n)
    await until(lambda: len(fast.positions()) == 30)
    await until(lambda: len(hub.subscriptions) == 1)  # the slow one left by itself
    slow.writable.set()
    await finished(served_slow)
    assert slow.ended()
    assert len(slow.positions()) < 30
    assert slow.positions() == list(range(1, len(slow.positions()) + 1))  # a prefix: resumable
    assert fast.positions() == list(range(1, 31))
    fast.gone.set()
    await finished(served_fast)


async def test_a_quiet_stream_gets_heartbeats(hub) -> None:
    client = Client()
    served = serve(hub, client, heartbeat_s=0.05)
    await until(lambda: sum(m.get("body") == KEEP_ALIVE for m in client.messages) >= 2)
    client.gone.set()
    await finished(served)
