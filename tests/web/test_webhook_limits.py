"""What a delivery costs before it is verified, through the real ASGI app with a streamed body
whose chunks are counted as the endpoint pulls them: how much of an unsigned body is read, that
a plausibly signed one is read whole, the bound on bodies being checked at once, and the
deadline for a body to arrive. And replays: a signed body is acted on once, whatever its
delivery id, including in a log written before bodies were claimed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.domain.events import WebhookReceived
from rivetr.service.commands.webhook_admission import MAX_BODY, SMALL_BODY, UNVERIFIED_BYTES
from tests.web.test_webhooks import PUSHES, deployments, signed

CHUNK = 16 * 1024
Pull = Callable[[], Awaitable[bytes | None]]  # the next chunk; None: the body is complete


class Delivery:
    """One POST through the ASGI app; `pulled` counts the body bytes the endpoint asked for."""

    def __init__(self, path: str, headers: dict[str, str], body: Pull) -> None:
        self.path, self.headers, self.body = path, headers, body
        self.pulled = 0
        self.status = 0
        self.answer = b""

    async def run(self, app: Any) -> Delivery:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in self.headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            chunk = await self.body()
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            self.pulled += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body":
                self.answer += message.get("body", b"")

        await app(scope, receive, send)
        return self


def filler(size: int) -> Pull:
    """`size` bytes of a JSON object, a chunk at a time."""
    left = size

    async def pull() -> bytes | None:
        nonlocal left
        if left <= 0:
            return None
        part = min(CHUNK, left)
        left -= part
        return b"{" + b" " * (part - 2) + b"}" if part >= 2 else b" " * part

    return pull


def json_headers(size: int | None, **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", **extra}
    if size is not None:
        headers["Content-Length"] = str(size)
    return headers


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/webhooks/github/web", {}, 401),  # no signature
        ("/webhooks/github/web", {"X-Hub-Signature-256": "sha256=nothex"}, 401),
        ("/webhooks/gitea/web", {"X-Gitea-Signature": "0" * 64, "X-Hub-Signature-256": "x"}, 401),
        ("/webhooks/gitlab/web", {"X-Gitlab-Token": "a guess"}, 401),  # checked unread
        ("/webhooks/github/nope", {"X-Hub-Signature-256": "sha256=" + "0" * 64}, 404),
        ("/webhooks/github/quiet", {"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403),
    ],
)
def test_a_delivery_that_cannot_be_authentic_is_refused_after_reading_at_most_64_kb(
    client, call, services, auth, secret, path, headers, status
):
    client.post("/api/v1/apps", json={"name": "quiet"}, headers=auth)  # no webhook secret
    for declared in (MAX_BODY, None):  # declared, and chunked with no length
        delivery = Delivery(path, json_headers(declared, **headers), filler(MAX_BODY))

        call(delivery.run, client.app)

        assert delivery.status == status, delivery.answer
        assert delivery.pulled <= SMALL_BODY + CHUNK
    assert deployments(call, services) == []


def test_a_body_in_the_providers_signature_shape_is_read_whole_and_checked(
    client, call, secret, webhooks
):
    forged = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    delivery = Delivery("/webhooks/github/web", json_headers(MAX_BODY, **forged), filler(MAX_BODY))

    call(delivery.run, client.app)

    assert (delivery.status, delivery.pulled) == (401, MAX_BODY)
    # a real push padded to 1 MB, correctly signed: large deliveries are taken
    push = json.loads((webhooks / PUSHES["github"][0]).read_bytes())
    push["padding"] = "x" * (1024 * 1024)
    body = json.dumps(push).encode()
    response = client.post(
        "/webhooks/github/web", content=body, headers=signed("github", body, secret, "push")
    )
    assert (response.status_code, response.json()["decision"]) == (202, "deploy")


def test_bodies_being_checked_at_once_are_bounded_and_the_rest_answered_503(
    client, call, services, secret
):
    forged = json_headers(MAX_BODY, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    room = UNVERIFIED_BYTES // MAX_BODY
    results: list[Delivery] = []

    async def flood() -> None:
        go_on, all_started = anyio.Event(), anyio.Event()
        started = 0

        def stalled() -> Pull:
            """A body that sends one chunk, then waits for `go_on`, then the rest."""
            rest = filler(MAX_BODY - CHUNK)
            first = True

            async def pull() -> bytes | None:
                nonlocal first, started
                if first:
                    first = False
                    started += 1
                    if started == room:
                        all_started.set()
                    return b" " * CHUNK
                await go_on.wait()
                return await rest()

            return pull

        async with anyio.create_task_group() as group:
            held = [Delivery("/webhooks/github/web", forged, stalled()) for _ in range(room)]
            for delivery in held:
                group.start_soon(delivery.run, client.app)
            await all_started.wait()
            turned_away = await Delivery("/webhooks/github/web", forged, filler(MAX_BODY)).run(
                client.app
            )
            body = b"{}"
            ping = {**signed("github", body, secret, "ping"), "Content-Length": str(len(body))}
            beside = await Delivery("/webhooks/github/web", ping, filler(len(body))).run(client.app)
            go_on.set()
        results.extend([*held, turned_away, beside])

    call(flood)

    *held, turned_away, beside = results
    assert [d.status for d in held] == [401] * room
    assert turned_away.status == 503, turned_away.answer
    assert turned_away.pulled == 0
    assert b"retry shortly" in turned_away.answer
    assert beside.status == 200  # a small signed delivery still fits beside them
    assert services.webhooks.bodies.held == 0  # every reservation given back


def test_a_body_that_does_not_arrive_in_time_is_answered_408(
    client, call, services, secret, monkeypatch
):
    monkeypatch.setattr("rivetr.web.webhooks.BODY_DEADLINE_S", 0.05)

    async def never() -> bytes | None:
        await anyio.sleep_forever()
        return None

    forged = json_headers(MAX_BODY, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    delivery = Delivery("/webhooks/github/web", forged, never)

    call(delivery.run, client.app)

    assert delivery.status == 408
    assert services.webhooks.bodies.held == 0


def test_the_same_signed_body_under_another_delivery_id_or_none_is_a_replay(
    client, call, services, auth, secret, webhooks
):
    path, event, commit = PUSHES["github"]
    body = (webhooks / path).read_bytes()
    first = signed("github", body, secret, event, delivery="first-id")
    other = signed("github", body, secret, event, delivery="another-id")
    none = {k: v for k, v in other.items() if k != "X-GitHub-Delivery"}

    answers = [
        client.post("/webhooks/github/web", content=body, headers=headers)
        for headers in (first, other, none, first)
    ]

    assert [(a.status_code, a.json()["decision"]) for a in answers] == [
        (202, "deploy"),
        (200, "replayed"),
        (200, "replayed"),
        (200, "replayed"),
    ]
    assert "received before as delivery first-id" in answers[1].json()["reason"]
    assert "whatever its delivery id" in answers[2].json()["reason"]
    assert answers[3].json()["reason"].startswith("delivery first-id was received before")
    [requested] = deployments(call, services)
    assert requested.commit == commit
    listed = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert [d["delivery_id"] for d in listed] == ["first-id", None, "another-id", "first-id"]
    # the same body to another app is that app's first
    staged = {"name": "staging", "branch": "master", "git_url": "https://git.example.com/web.git"}
    client.post("/api/v1/apps", json=staged, headers=auth)
    staging = client.post("/api/v1/apps/staging/webhook", headers=auth).json()["secret"]
    to_staging = client.post(
        "/webhooks/github/staging", content=body, headers=signed("github", body, staging, event)
    )
    assert to_staging.json()["decision"] == "deploy"


def test_a_delivery_recorded_by_its_id_in_an_older_log_is_still_a_replay_and_still_listed(
    client, call, services, auth, secret, webhooks
):
    delivery = str(uuid.uuid4())
    old = WebhookReceived(
        app="web",
        provider="github",
        event="push",
        delivery_id=delivery,
        signature="valid",
        decision="ignored",
        reason="push to elsewhere; web deploys master",
    )
    web = call(services.lookup.by_name, "web")
    meta = EventMeta(actor="webhook:github", source="webhook:github", resource=web.app_id)
    call(services.store.append, f"hook-github-{delivery}", ANY_VERSION, [old], meta)
    path, event, _ = PUSHES["github"]
    body = (webhooks / path).read_bytes()

    again = client.post(
        "/webhooks/github/web",
        content=body,
        headers=signed("github", body, secret, event, delivery=delivery),
    )

    assert (again.status_code, again.json()["decision"]) == (200, "replayed")
    assert deployments(call, services) == []
    listed = client.get("/api/v1/apps/web/webhook-deliveries", headers=auth).json()
    assert [(d["delivery_id"], d["decision"]) for d in listed] == [
        (delivery, "replayed"),
        (delivery, "ignored"),
    ]


def test_headers_that_could_not_be_recorded_are_refused(client, call, services, secret):
    body = b"{}"
    long_id = signed("github", body, secret, "push", delivery="x" * 500)
    odd_event = {**signed("github", body, secret, "push"), "X-GitHub-Event": "p" * 200}
    for headers in (long_id, odd_event):
        response = client.post("/webhooks/github/web", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert "header" in response.json()["detail"]
    stored = [e.event for e in call(services.store.read_all) if e.type == "webhook.received"]
    long_id_record, odd_event_record = stored[-2:]
    assert (long_id_record.delivery_id, long_id_record.event) == (None, "push")
    assert odd_event_record.event is None  # what could not be recorded is not
    assert {long_id_record.decision, odd_event_record.decision} == {"refused"}
