"""SIGTERM on a real `rivetr serve` in the middle of a write storm, with an event stream open
and a release live: it stops within seconds, every change it acknowledged is in the log, none
was answered 5xx, the stream ends (its client resumes elsewhere), and the release goes on
serving: it is the engine's, not Rivetr's child."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.e2e.served_app import Rivetr, live_v1, serves

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]


def test_sigterm_finishes_what_is_in_flight_and_leaves_the_release_serving(rivetr: Rivetr) -> None:
    v1, port = live_v1(rivetr)
    url, headers = rivetr.server.url, {"Authorization": f"Bearer {rivetr.token}"}
    stream_ended = threading.Event()

    def follow_events() -> None:
        try:
            with httpx.stream(
                "GET", f"{url}/api/v1/events/stream", headers=headers, timeout=None
            ) as events:
                for _ in events.iter_lines():
                    pass
        except httpx.HTTPError:
            pass
        stream_ended.set()

    acknowledged: list[str] = []
    answered_otherwise: list[str] = []
    stop = threading.Event()

    def write(worker: int) -> None:
        with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as api:
            for n in range(10_000):
                if stop.is_set():
                    return
                name = f"w{worker}-{n}"
                try:
                    made = api.post("/apps", json={"name": name, "git_url": str(rivetr.repo.path)})
                except httpx.TransportError:
                    return  # refused or cut: the service is stopping; not acknowledged
                if made.status_code == 201:
                    acknowledged.append(name)
                else:
                    answered_otherwise.append(f"{made.status_code} {made.text[:200]}")

    threads = [threading.Thread(target=follow_events)]
    threads += [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)

    began = time.monotonic()
    rivetr.server.stop()  # SIGTERM, as systemd stops it
    took = time.monotonic() - began
    stop.set()
    for thread in threads:
        thread.join(30)

    assert took < 5, f"the stop took {took:.1f} s"
    assert stream_ended.is_set()
    assert acknowledged, "no change was made before the stop"
    assert answered_otherwise == []
    assert serves(port) == "v1"  # the release never noticed
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v1}": "running"}

    rivetr.server = rivetr.factory(rivetr.data, rivetr.env).start()
    listed = {app["name"] for app in rivetr.call("GET", "/apps").json()}
    assert set(acknowledged) <= listed
    assert rivetr.deployment(v1)["deployment"]["status"] == "live"
