"""/api/v1/control-plane: an instance admin asks the running service for a backup and follows
it to `verified`; a bad schedule is refused naming its field; anyone else is refused, saying
only an instance admin may."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient


def test_an_instance_admin_asks_for_a_backup_the_service_takes_and_proves(
    client: TestClient[Any], auth: dict[str, str]
) -> None:
    asked = client.post("/api/v1/control-plane/backups", json={}, headers=auth)

    assert asked.status_code == 202, asked.text
    backup_id = asked.json()["backup_id"]
    deadline = time.monotonic() + 15
    while True:
        [backup] = client.get("/api/v1/control-plane/backups", headers=auth).json()
        if backup["status"] in ("verified", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert backup["backup_id"] == backup_id
    assert backup["status"] == "verified", backup
    assert backup["head_position"] > 0
    assert backup["prefix"].startswith("control-plane/")


def test_a_schedule_is_checked_and_the_key_needs_a_passphrase(
    client: TestClient[Any], auth: dict[str, str]
) -> None:
    bad = client.put(
        "/api/v1/control-plane/schedules",
        json={"schedules": [{"cron": "0 3 * * 9"}]},
        headers=auth,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["key"] == "schedules[0].schedule"
    keyed = client.post("/api/v1/control-plane/backups", json={"with_key": True}, headers=auth)
    assert keyed.status_code == 422
    assert "no encryption passphrase" in keyed.json()["detail"]
    unknown = client.post("/api/v1/control-plane/backups", json={"where": "x"}, headers=auth)
    assert unknown.status_code == 400
    set_ = client.put(
        "/api/v1/control-plane/schedules",
        json={"schedules": [{"cron": "@daily", "timezone": "Europe/Berlin"}]},
        headers=auth,
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["schedules"][0]["cron"] == "0 0 * * *"


def test_only_an_instance_admin_sees_or_asks_for_control_plane_backups(
    client: TestClient[Any], mint: Any
) -> None:
    reader = mint("read", "reader")
    deployer = mint("deploy", "deployer")
    for headers in (reader, deployer):
        listing = client.get("/api/v1/control-plane/backups", headers=headers)
        assert listing.status_code == 403
        assert "only an instance admin" in listing.json()["detail"]
        asked = client.post("/api/v1/control-plane/backups", json={}, headers=headers)
        assert asked.status_code == 403
