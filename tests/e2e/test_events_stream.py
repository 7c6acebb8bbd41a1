"""The event log as server-sent events from a real `rivetr serve`: a client cut off again and
again while apps are being created gets every event exactly once by resuming from its
Last-Event-ID; heartbeats keep an idle stream open; filters and bad input."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.e2e

ENV = {"RIVETR_ENGINE": "none", "RIVETR_SSE_HEARTBEAT_S": "0.3"}


def messages(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Parse an SSE stream into messages (comments come as {"comment": ...})."""
    message: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if message:
                yield message
            message = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            message[field] = value.removeprefix(" ")


@pytest.fixture
def served(tmp_path, server_factory):  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    server = server_factory(data, ENV).start()
    minted = run_cli(data, "tokens", "create", "--name", "reader")
    assert minted.returncode == 0, minted.stderr
    return server, {"Authorization": f"Bearer {minted.stdout.strip()}"}


def test_a_client_cut_off_repeatedly_gets_every_event_once_by_resuming(served) -> None:
    server, auth = served
    done = threading.Event()
    failures: list[str] = []

    def create_apps() -> None:
        with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
            for n in range(60):
                answer = client.post("/api/v1/apps", json={"name": f"app-{n}"})
                if answer.status_code != 201:
                    failures.append(answer.text)
        done.set()

    writer = threading.Thread(target=create_apps)
    writer.start()
    seen: list[int] = []
    shuffle = random.Random(7)
    resume: dict[str, str] = {}
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        while True:
            cut_after = shuffle.randint(1, 12)
            got = 0
            params = {} if resume else {"after": "0"}
            with client.stream(
                "GET", "/api/v1/events/stream", params=params, headers=resume
            ) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                for message in messages(response):
                    if "comment" in message:
                        if done.is_set():
                            break  # idle, and nothing more is coming
                        continue
                    seen.append(int(message["id"]))
                    assert json.loads(message["data"])["type"] == message["event"]
                    got += 1
                    if got == cut_after:
                        break  # hang up mid-stream: the connection is closed under it
            resume = {"Last-Event-ID": str(seen[-1])}
            if done.is_set() and got < cut_after:
                break
    writer.join()

    assert failures == []
    exported = run_cli(server.data_dir, "events", "export")
    positions = [json.loads(line)["position"] for line in exported.stdout.splitlines()]
    assert seen == positions  # every event, once, in order
    assert len([p for p in positions]) >= 61


def test_filters_heartbeats_and_bad_input(served) -> None:
    server, auth = served
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        for name in ("web", "api"):
            assert client.post("/api/v1/apps", json={"name": name}).status_code == 201
        with client.stream(
            "GET", "/api/v1/events/stream", params={"after": "0", "app": "api"}
        ) as response:
            stream = messages(response)
            first = next(stream)
            assert (first["event"], json.loads(first["data"])["data"]["name"]) == (
                "app.created",
                "api",
            )
            assert next(stream)["event"] == "claim.name_claimed"  # its name, while it lives
            assert next(stream) == {"comment": "keep-alive"}  # nothing else for api

        with client.stream(
            "GET", "/api/v1/events/stream", params={"after": "0", "type": "token.*"}
        ) as response:
            assert next(messages(response))["event"] == "token.created"

        assert client.get("/api/v1/events/stream", params={"app": "nope"}).status_code == 404
        bad = client.get("/api/v1/events/stream", headers={"Last-Event-ID": "seven"})
        assert bad.status_code == 400
        assert "Last-Event-ID" in bad.text
    anonymous = httpx.get(f"{server.url}/api/v1/events/stream", timeout=10)
    assert anonymous.status_code == 401


def test_a_stacks_events_are_followed_with_its_releases(served) -> None:
    server, auth = served
    compose = "services:\n  web:\n    image: nginx:1.27\n"
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        made = [
            client.post("/api/v1/stacks", json={"name": name, "compose": compose}).json()
            for name in ("blog", "shop")
        ]
        blog, shop = (stack["stack_id"] for stack in made)
        for stack_id in (blog, shop):
            deployed = client.post(f"/api/v1/stacks/{stack_id}/deploy")
            assert deployed.status_code == 202
        with client.stream(
            "GET", "/api/v1/events/stream", params={"after": "0", "stack": blog}
        ) as response:
            got = []
            for message in messages(response):
                if "comment" in message:
                    break  # nothing else for blog
                got.append((message["event"], json.loads(message["data"])["data"]))
        assert [event for event, _ in got] == [
            "stack.created",
            "claim.name_claimed",
            "stack_release.requested",
        ]
        assert got[-1][1]["stack_id"] == blog
        assert client.get("/api/v1/events/stream", params={"stack": "a" * 12}).status_code == 404
        assert client.post("/api/v1/apps", json={"name": "web"}).status_code == 201
        both = client.get("/api/v1/events/stream", params={"stack": blog, "app": "web"})
        assert both.status_code == 400
        assert "an app or a stack, not both" in both.text


def test_the_cli_exports_one_apps_history_which_verifies_only_as_filtered(served, tmp_path) -> None:
    server, auth = served
    ids = {}
    for name in ("web", "api", "web2"):
        answer = httpx.post(
            f"{server.url}/api/v1/apps", json={"name": name}, headers=auth, timeout=10
        )
        assert answer.status_code == 201
        ids[name] = answer.json()["id"]
    exported = run_cli(server.data_dir, "events", "export", "--app", "web")
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(r["type"], r["stream_id"], r["resource"]) for r in rows] == [
        ("app.created", f"app-{ids['web']}", ids["web"]),
        ("claim.name_claimed", "claims", ids["web"]),
    ]
    whole = run_cli(server.data_dir, "events", "export")
    path = tmp_path / "web.jsonl"
    # two of one app's events, with another app's between them
    lines = whole.stdout.splitlines()
    wanted = (ids["web"], ids["web2"])
    picked = [line for line in lines if json.loads(line)["resource"] in wanted]
    path.write_text("\n".join(picked) + "\n")

    strict = run_cli(server.data_dir, "audit", "verify", "--file", str(path))
    assert strict.returncode == 1
    assert "missing" in strict.stderr
    filtered = run_cli(server.data_dir, "audit", "verify", "--file", str(path), "--filtered")
    assert filtered.returncode == 0, filtered.stderr
    assert "4 events" in filtered.stdout
    assert "across the 1 gap the filter left" in filtered.stdout

    later = run_cli(server.data_dir, "events", "export", "--from", rows[0]["recorded_at"])
    assert later.stdout.splitlines()[0] == lines[len(lines) - len(later.stdout.splitlines())]
    bad = run_cli(server.data_dir, "events", "export", "--to", "soon")
    assert bad.returncode == 2
    assert "is not an ISO 8601 time" in bad.stderr
