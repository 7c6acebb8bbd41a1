"""The server loop sleeps until asked to stop (no timer wakes an idle service), and each answer
still carries the Date of the second it starts in."""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime

import pytest
import uvicorn

from rivetr.web.server import DatedHeaders, QuietServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_date_is_the_second_the_headers_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = DatedHeaders([(b"server", b"uvicorn")])
    now = [1_700_000_000.2]
    monkeypatch.setattr(time, "time", lambda: now[0])
    first = headers + [(b"content-type", b"text/plain")]  # noqa: RUF005 (as uvicorn adds them)
    now[0] += 61
    later = list(headers)
    assert first[1:] == [(b"server", b"uvicorn"), (b"content-type", b"text/plain")]
    dates = [parsedate_to_datetime(h[0][1].decode()).timestamp() for h in (first, later)]
    assert dates == [1_700_000_000, 1_700_000_061]


async def test_the_loop_sleeps_until_asked_to_stop() -> None:
    settled = []
    server = QuietServer(uvicorn.Config(app=None), lambda: None, lambda: settled.append(1))
    server.config.load()
    loop = asyncio.get_running_loop()
    timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
    running = asyncio.create_task(server.main_loop())
    await asyncio.sleep(0.05)
    assert not running.done()
    assert len(loop._scheduled) == timers_before  # type: ignore[attr-defined]
    assert isinstance(server.server_state.default_headers, DatedHeaders)
    assert settled == [1]  # the heap settled once, as the loop began
    server.should_exit = True  # what uvicorn's signal handler does
    await asyncio.wait_for(running, 1)


SETTLED = """
import gc, json
from rivetr.web.server import settle_heap
class Node:
    pass
garbage = Node()
garbage.me = garbage  # a cycle only a collection frees
del garbage
kept = [Node() for _ in range(1000)]
settle_heap()
walked = sum(isinstance(o, Node) for o in gc.get_objects())
print(json.dumps([gc.get_freeze_count(), gc.collect(), walked]))
"""


def test_settling_collects_start_ups_garbage_then_freezes_what_lives() -> None:
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", SETTLED], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    frozen, found_after, nodes_seen = json.loads(out)
    assert frozen > 1000  # the kept nodes and everything else alive
    assert found_after == 0  # the cycle went in the settling collection
    assert nodes_seen == 0  # frozen objects are out of the collector's lists
