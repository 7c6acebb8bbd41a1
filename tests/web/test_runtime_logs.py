"""The live container's own output over HTTP: the last lines, the lines after one, the stream
with resumable ids and an `end` once the container stops; and who may read it. The engine is
the in-memory twin here (the real engines' following is in the runtime contract tests and the
browser test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.runtime.base import ContainerSpec
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    TrafficSwitched,
)
from rivetr.web.app import create_app
from tests.web.test_api_deployments import sse
from tests.web.test_dashboard import form_login

RED = "\x1b[31mred\x1b[0m"


@pytest.fixture
def engine() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def client(tmp_path: Path, engine: FakeRuntime) -> Iterator[TestClient[Any]]:
    """The app of tests/web/conftest.py, on `engine` as its container engine."""
    settings = Settings(data_dir=str(tmp_path / "data"), engine="none", proxy_enabled=False)
    app = create_app(settings, open_services=partial(Services.open, runtime=engine))
    with TestClient(app) as client:
        yield client


async def live_web(services, runtime: FakeRuntime) -> FakeRuntime:
    """`web` with a live release whose container (in the fake engine) wrote three lines."""
    await services.engine.ready.wait()
    await runtime.import_image(b"fs", BUSYBOX_IMAGE, cmd=["/bin/sh"])
    started = await runtime.run_container(ContainerSpec(name="rivetr-web-d1", image=BUSYBOX_IMAGE))
    runtime.append_log(started.id, "listening on :3000\n")
    runtime.append_log(started.id, f"GET /\n{RED}\n")
    web = await services.lookup.by_name("web")
    history = [
        DeploymentRequested(
            deployment_id="d1", app="web", app_id=web.app_id, branch="main", image="i1"
        ),
        ContainerStarted(
            deployment_id="d1",
            container_id=started.id,
            container_name="rivetr-web-d1",
            image="i1",
            host_port=30001,
            duration_ms=1,
        ),
        DeploymentHealthy(deployment_id="d1", probes=1, duration_ms=1),
        TrafficSwitched(deployment_id="d1", app="web", host_port=30001),
    ]
    meta = EventMeta(actor="test", team=web.team, resource=web.app_id)
    await services.store.append("deployment-d1", 0, history, meta)
    await services.runner.wait_until(await services.store.head())
    return runtime


@pytest.fixture
def runtime(client, auth, call, services, engine) -> FakeRuntime:
    assert client.post("/api/v1/apps", json={"name": "web"}, headers=auth).status_code == 201
    return call(live_web, services, engine)


def test_the_last_lines_and_the_lines_after_one(client, auth, runtime) -> None:
    last = client.get("/api/v1/apps/web/logs", params={"tail": 2}, headers=auth)
    assert last.status_code == 200
    assert [line["text"] for line in last.json()] == ["GET /", RED]

    every = client.get("/api/v1/apps/web/logs", headers=auth).json()
    assert [line["text"] for line in every] == ["listening on :3000", "GET /", RED]
    after = client.get("/api/v1/apps/web/logs", params={"after": every[0]["at"]}, headers=auth)
    assert [line["text"] for line in after.json()] == ["GET /", RED]


def test_the_stream_gives_ids_to_resume_from_and_ends_when_the_container_stops(
    client, auth, call, runtime
) -> None:
    call(runtime.stop_container, "rivetr-web-d1")
    url = "/api/v1/apps/web/logs/stream"

    messages = sse(client.get(url, headers=auth))
    lines = [m for m in messages if m.get("event") == "line"]
    assert [json.loads(m["data"])["text"] for m in lines] == ["listening on :3000", "GET /", RED]
    assert all(m["id"] == json.loads(m["data"])["at"] for m in lines)
    assert messages[-1] == {"event": "end", "data": "stopped"}

    resumed = sse(client.get(url, headers={**auth, "Last-Event-ID": lines[0]["id"]}))
    assert [json.loads(m["data"])["text"] for m in resumed if m.get("event") == "line"] == [
        "GET /",
        RED,
    ]


def test_refusals_say_why(client, auth, call, services, runtime) -> None:
    bad = client.get("/api/v1/apps/web/logs", params={"after": "yesterday"}, headers=auth)
    assert bad.status_code == 400
    assert "RFC 3339" in bad.json()["detail"]
    assert client.get("/api/v1/apps/nope/logs", headers=auth).status_code == 404
    assert client.get("/api/v1/apps/web/logs").status_code == 401

    assert client.post("/api/v1/apps", json={"name": "idle"}, headers=auth).status_code == 201
    idle = client.get("/api/v1/apps/idle/logs/stream", headers=auth)
    assert idle.status_code == 404
    assert "no running release" in idle.json()["detail"]

    runtime.available = False  # the engine goes away, and the monitor notices
    call(services.engine.check)
    gone = client.get("/api/v1/apps/web/logs", headers=auth)
    assert gone.status_code == 503
    assert "engine" in gone.json()["detail"]


def test_the_app_page_shows_the_output_in_colour_and_where_to_follow_from(
    client, auth, call, runtime
) -> None:
    form_login(client, token=auth["Authorization"].split()[1])
    page = client.get("/apps/web").text
    shown = page.split('id="runtime-log"', 1)[1].split("</pre>", 1)[0]
    assert '<span class="ansi-fg-red">red</span>' in shown
    assert "listening on :3000" in shown
    last = client.get("/api/v1/apps/web/logs", params={"tail": 1}, headers=auth).json()[0]["at"]
    assert f'data-after="{last}"' in page

    refreshed = client.get("/apps/web", headers={"X-Rivetr-Refresh": "1"}).text
    assert "listening on :3000" not in refreshed  # a live refresh leaves the engine alone

    call(partial(runtime.remove_container, "rivetr-web-d1", force=True))
    assert "The engine no longer has the container" in client.get("/apps/web").text
