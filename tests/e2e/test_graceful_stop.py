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
from tests.e2e.write_storm import WriteStorm

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

    storm = WriteStorm(url, rivetr.token, str(rivetr.repo.path))
    follower = threading.Thread(target=follow_events)
    follower.start()
    with storm.running():
        time.sleep(1.5)
        began = time.monotonic()
        rivetr.server.stop()  # SIGTERM, as systemd stops it
        took = time.monotonic() - began
    follower.join(30)

    assert took < 5, f"the stop took {took:.1f} s"
    assert stream_ended.is_set()
    assert storm.acknowledged, "no change was made before the stop"
    assert storm.answered_otherwise == []
    assert serves(port) == "v1"  # the release never noticed
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v1}": "running"}

    rivetr.server = rivetr.factory(rivetr.data, rivetr.env).start()
    listed = {app["name"] for app in rivetr.call("GET", "/apps").json()}
    assert set(storm.acknowledged) <= listed
    assert rivetr.deployment(v1)["deployment"]["status"] == "live"
