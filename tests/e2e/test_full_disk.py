"""`rivetr serve` with its data directory on a 3 MB disk that fills up, then gets room again:
creates are refused with a 507 that says what is full and where (never a 500 with a traceback),
reads and health go on, health says degraded and why, and once there is room the same requests,
retried with their Idempotency-Key, are each recorded once, and nothing acknowledged is lost.
The full disk and its recovery are recorded (for the instance's channels to be told), the first
in the room of the reserve file given back."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.disks import resize, small_tmpfs
from tests.e2e.conftest import Server, run_cli

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "3m") as disk:
        yield disk


def create(api: httpx.Client, n: int) -> httpx.Response:
    return api.post(
        "/apps",
        headers={"Idempotency-Key": f"create-a{n}"},
        json={
            "name": f"a{n}",
            "git_url": "https://github.com/me/web.git",
            "branch": "main",
            "port": 3000,
            "env": {"PADDING": "x" * 3000},  # fills the disk in tens of requests, not thousands
        },
    )


def wait_for(data_dir: Path, event_type: str, seconds: float = 10) -> bool:
    """Whether `event_type` is in the log within `seconds` (read beside the running service)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(data_dir / "events.db")) as log:
            found = log.execute("SELECT 1 FROM events WHERE type = ?", (event_type,)).fetchone()
        if found:
            return True
        time.sleep(0.2)
    return False


def test_a_full_disk_is_a_clear_answer_and_everything_recovers_by_itself(
    small_disk: Path, server_factory: type[Server]
) -> None:
    minted = run_cli(small_disk, "tokens", "create", "--name", "me")
    assert minted.returncode == 0, minted.stderr
    token = next(word for word in minted.stdout.split() if word.startswith("rvt_"))
    server = server_factory(
        small_disk,
        env={"RIVETR_STORAGE_RESERVE_KIB": "256", "RIVETR_STORAGE_CHECK_INTERVAL_S": "0.2"},
    ).start()
    reserve = small_disk / "storage.reserve"
    deadline = time.monotonic() + 10  # the storage watch makes it at its first look
    while not reserve.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reserve.stat().st_size == 256 * 1024
    api = httpx.Client(
        base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )

    created: dict[int, str] = {}
    refused: list[tuple[int, dict[str, Any]]] = []
    unseen: list[int] = []  # recorded, but the read model had no room to show them
    for n in range(400):
        answer = create(api, n)
        if answer.status_code == 201:
            created[n] = answer.json()["id"]
        elif answer.status_code == 503:
            assert answer.json()["outcome"] == "recorded", answer.text
            unseen.append(n)
        else:
            assert answer.status_code == 507, answer.text
            refused.append((n, answer.json()))
            if len(refused) == 5:
                break
    assert created, "nothing was created before the disk filled"
    assert len(refused) == 5, "the disk never filled"

    _, problem = refused[0]
    assert problem["outcome"] == "not_recorded"
    assert f"the disk holding {small_disk} is full" in problem["detail"]
    assert "nothing was recorded" in problem["detail"]
    health = api.get("/health").json()
    assert health["status"] == "degraded"
    assert "is full" in health["storage"]["log"]
    # counted since the last append that went through: the watch's own, in the reserve's room
    assert health["storage"]["appends_refused"] >= 1
    # reads are served, and hold everything acknowledged
    listed = {app["name"]: app["id"] for app in api.get("/apps").json()}
    assert listed.items() >= {f"a{n}": app_id for n, app_id in created.items()}.items()
    assert set(listed) <= {f"a{n}" for n in [*created, *unseen]}

    # the watch gave the reserve back and recorded the full disk in its room, to be told
    assert wait_for(small_disk, "host.storage_failed")
    assert not (small_disk / "storage.reserve").exists()

    resize(small_disk, "16m")

    # the refused ones and those recorded unseen, retried as they were: each is there once (a
    # create recorded before and retried without its key would be a 409, the name taken)
    for n in [*(n for n, _ in refused), *unseen]:
        assert create(api, n).status_code == 201
    first = min(created)  # one acknowledged before, retried with its key: the same app
    again = create(api, first)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == created[first]
    assert api.get("/health").json()["status"] == "ok"
    names = sorted(app["name"] for app in api.get("/apps").json())
    assert names == sorted(f"a{n}" for n in [*created, *unseen, *(n for n, _ in refused)])

    assert wait_for(small_disk, "host.storage_recovered")
    assert (small_disk / "storage.reserve").exists()
    server.stop()
    verified = run_cli(small_disk, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Traceback" not in server.output()
