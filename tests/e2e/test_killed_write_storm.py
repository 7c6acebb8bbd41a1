"""`kill -9` of a real `rivetr serve` in the middle of a write storm: every create it
acknowledged is in the log after a restart, the chain verifies, and the creates that were in
flight when it died, retried with their Idempotency-Key, are each recorded once (201, never a
409 for a name the first try took)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, run_cli
from tests.e2e.write_storm import WriteStorm

pytestmark = [pytest.mark.e2e]


def test_kill_9_during_a_write_storm_loses_nothing_acknowledged(
    tmp_path: Path, server_factory: type[Server]
) -> None:
    data = tmp_path / "data"
    token = run_cli(data, "tokens", "create", "--name", "storm").stdout.strip()
    server = server_factory(data).start()
    storm = WriteStorm(server.url, token, "https://github.com/me/web.git")
    with storm.running():
        time.sleep(3)
        server.stop(kill=True)
    assert storm.answered_otherwise == []
    print(f"{len(storm.acknowledged)} creates acknowledged before kill -9")
    assert len(storm.acknowledged) > 20

    verified = run_cli(data, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    server = server_factory(data).start()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30) as api:
        listed = {app["name"] for app in api.get("/apps").json()}
        assert set(storm.acknowledged) <= listed
        for name in storm.in_flight:  # recorded or not, a retry with its key settles it
            assert storm.create(api, name).status_code == 201
        names = [app["name"] for app in api.get("/apps").json()]
    assert len(names) == len(set(names))
    assert set(storm.in_flight) <= set(names)
