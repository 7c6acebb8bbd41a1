"""What the API answers when the disk refuses a change or the read model cannot show it yet, and
a request retried with its Idempotency-Key: recorded once, answered as the first would have been."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rivetr.adapters.eventstore.faults import StorageFault
from rivetr.service.errors import ReadModelBehind

WEB = {"name": "web", "git_url": "https://git.example.com/me/web.git", "port": 3000}


def test_a_create_retried_with_its_key_is_answered_again_and_recorded_once(
    client: Any, auth: dict[str, str], log_types: Any
) -> None:
    keyed = {**auth, "Idempotency-Key": "create-web-1"}
    first = client.post("/api/v1/apps", json=WEB, headers=keyed)
    again = client.post("/api/v1/apps", json=WEB, headers=keyed)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert log_types().count("app.created") == 1
    # without the key it is a second request, refused as such
    assert client.post("/api/v1/apps", json=WEB, headers=auth).status_code == 409


def test_a_key_that_cannot_be_one_is_a_400_naming_the_header(
    client: Any, auth: dict[str, str], log_types: Any
) -> None:
    answer = client.post("/api/v1/apps", json=WEB, headers={**auth, "Idempotency-Key": "a b"})

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["key"] == "Idempotency-Key"
    assert "app.created" not in log_types()


@pytest.mark.parametrize(
    ("fault", "status", "said"),
    [
        (
            StorageFault("full", Path("/srv/rivetr/events.db"), "disk full", "not_recorded"),
            507,
            "the disk holding /srv/rivetr is full",
        ),
        (
            StorageFault("read_only", Path("/srv/rivetr/events.db"), "ro", "not_recorded"),
            503,
            "the file system holding /srv/rivetr is read-only",
        ),
        (
            StorageFault("io", Path("/srv/rivetr/events.db"), "disk I/O error", "unknown"),
            503,
            "whether it was recorded cannot be told",
        ),
    ],
)
def test_a_disk_fault_is_a_problem_saying_what_and_where_never_a_500(
    client: Any,
    auth: dict[str, str],
    services: Any,
    monkeypatch: pytest.MonkeyPatch,
    fault: StorageFault,
    status: int,
    said: str,
) -> None:
    async def refused(*_: object) -> None:
        raise fault

    monkeypatch.setattr(services.store, "append_together", refused)
    answer = client.post("/api/v1/apps", json=WEB, headers=auth)

    assert answer.status_code == status
    problem = answer.json()
    assert said in problem["detail"]
    assert problem["outcome"] == fault.outcome
    assert answer.headers["retry-after"]
    assert client.get("/api/v1/apps", headers=auth).status_code == 200  # reads go on


def test_a_change_recorded_but_not_yet_readable_is_a_503_saying_it_was_recorded(
    client: Any, auth: dict[str, str], services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def behind(*_: object, **__: object) -> None:
        raise ReadModelBehind(7, "the disk holding /srv is full")

    monkeypatch.setattr("rivetr.service.commands.handler.read_your_write", behind)
    answer = client.post("/api/v1/apps", json=WEB, headers=auth)

    assert answer.status_code == 503
    assert answer.json()["outcome"] == "recorded"
    assert "recorded at position 7" in answer.json()["detail"]


class RefusingWriter:
    """The log's writer on a full disk: every batch refused, nothing written."""

    def commit_batch(self, requests: object) -> None:
        raise StorageFault("full", Path("/srv/rivetr/events.db"), "disk full", "not_recorded")


def test_health_says_degraded_and_why_while_the_log_cannot_be_written(
    client: Any, auth: dict[str, str], services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy = client.get("/api/v1/health").json()
    assert (healthy["status"], healthy["storage"]["log"]) == ("ok", "ok")
    assert healthy["log_schema"] >= 3

    real = services.store._writer
    monkeypatch.setattr(services.store, "_writer", RefusingWriter())
    assert client.post("/api/v1/apps", json=WEB, headers=auth).status_code == 507
    degraded = client.get("/api/v1/health").json()
    assert degraded["status"] == "degraded"
    assert "is full" in degraded["storage"]["log"]
    assert degraded["storage"]["appends_refused"] >= 1  # the storage watch's try counts too

    monkeypatch.setattr(services.store, "_writer", real)  # room again
    assert client.post("/api/v1/apps", json=WEB, headers=auth).status_code == 201
    assert client.get("/api/v1/health").json()["status"] == "ok"


def test_every_page_says_while_the_log_cannot_be_written_and_stops_once_it_can(
    client: Any, auth: dict[str, str], services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    assert 'id="storage-status"' not in client.get("/").text

    real = services.store._writer
    monkeypatch.setattr(services.store, "_writer", RefusingWriter())
    client.post("/api/v1/apps", json=WEB, headers=auth)
    page = client.get("/")
    assert page.status_code == 200  # reads go on
    assert 'id="storage-status"' in page.text
    assert "the disk holding /srv/rivetr is full" in page.text

    monkeypatch.setattr(services.store, "_writer", real)
    client.post("/api/v1/apps", json=WEB, headers=auth)
    assert 'id="storage-status"' not in client.get("/").text
