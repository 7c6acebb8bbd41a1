"""The event stream of one project's environment, from a real `rivetr serve`: the events of the
apps there now and the project's own, then, live, those of an app created there, and of one
moved out only up to its move."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.test_events_stream import messages, served

pytestmark = pytest.mark.e2e
__all__ = ["served"]  # the fixture, shared with the stream's other tests

STAGING = {"after": "0", "project": "default/shop", "environment": "staging"}


def test_a_projects_environment_streams_its_apps_and_its_own_events(served) -> None:
    server, auth = served
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        made = client.post(
            "/api/v1/projects", json={"project": "shop", "environments": ["staging"]}
        )
        assert made.status_code == 201, made.text
        staged = {"project": "shop", "environment": "staging"}
        assert client.post("/api/v1/apps", json={"name": "web", **staged}).status_code == 201
        assert client.post("/api/v1/apps", json={"name": "api"}).status_code == 201
        seen: list[tuple[str, str | None]] = []
        live = False
        with client.stream("GET", "/api/v1/events/stream", params=STAGING) as response:
            assert response.status_code == 200
            for message in messages(response):
                if "comment" in message:  # idle: the history has been sent, or all of it
                    if live:
                        break
                    live = True
                    assert client.post("/api/v1/apps", json={"name": "late", **staged}).is_success
                    moved = client.post(
                        "/api/v1/apps/web/move",
                        json={"project": "shop", "environment": "production"},
                    )
                    assert moved.status_code == 200, moved.text
                    assert client.patch("/api/v1/apps/web", json={"port": 3000}).is_success
                    assert client.patch("/api/v1/apps/api", json={"port": 3000}).is_success
                    continue
                body = json.loads(message["data"])
                seen.append((message["event"], body["data"].get("name")))

    assert seen == [
        ("project.created", "shop"),
        ("app.created", "web"),
        ("claim.name_claimed", "web"),
        ("app.created", "late"),
        ("claim.name_claimed", "late"),
        ("app.moved", "web"),  # the move out is told; what web does after it is not
    ]
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        unknown = client.get("/api/v1/events/stream", params={"project": "nope"})
        assert unknown.status_code == 404
        nowhere = client.get("/api/v1/events/stream", params={"environment": "qa"})
        assert nowhere.status_code == 404


def test_a_projects_environment_streams_its_stacks_and_their_releases(served) -> None:
    server, auth = served
    compose = "services:\n  web:\n    image: nginx:1.27\n"
    staged = {"project": "shop", "environment": "staging", "compose": compose}
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        made = client.post(
            "/api/v1/projects", json={"project": "shop", "environments": ["staging"]}
        )
        assert made.status_code == 201, made.text

        def stack(name: str, **place: str) -> str:
            answer = client.post("/api/v1/stacks", json={"name": name, **place})
            assert answer.status_code == 201, answer.text
            return str(answer.json()["stack_id"])

        blog = stack("blog", **staged)
        stack("elsewhere", compose=compose)
        seen: list[str] = []
        live = False
        with client.stream("GET", "/api/v1/events/stream", params=STAGING) as response:
            for message in messages(response):
                if "comment" in message:
                    if live:
                        break
                    live = True
                    late = stack("late", **staged)
                    for stack_id in (blog, late):
                        assert client.post(f"/api/v1/stacks/{stack_id}/deploy").is_success
                    continue
                body = json.loads(message["data"])["data"]
                seen.append(f"{message['event']} {body.get('name') or body.get('stack_id')}")

    assert seen == [
        "project.created shop",
        "stack.created blog",
        "claim.name_claimed stack/default/shop/staging/blog",
        "stack.created late",  # made there while followed
        "claim.name_claimed stack/default/shop/staging/late",
        f"stack_release.requested {blog}",
        f"stack_release.requested {late}",
    ]
