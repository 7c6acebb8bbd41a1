"""What was running at a point in time, from the log: settings and domains as they were, each
deployment's status as it stood; deleted apps stay answerable; bad times are 400."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.web.test_api_deployments import settled


def now() -> str:
    time.sleep(0.02)  # so that the moments fall strictly between recorded events
    stamp = datetime.now(UTC).isoformat()
    time.sleep(0.02)
    return stamp


def test_the_app_as_of_a_moment_is_folded_from_the_log(client, auth) -> None:
    before = now()
    app = {"name": "web", "git_url": "https://git.example.com/web.git", "domains": ["a.test"]}
    assert client.post("/api/v1/apps", json=app, headers=auth).status_code == 201
    created = now()
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)
    failed = now()
    changed = client.patch("/api/v1/apps/web", json={"domains": ["b.test"]}, headers=auth)
    assert changed.status_code == 200, changed.text

    def at(moment: str) -> dict:
        answer = client.get("/api/v1/apps/web/at", params={"time": moment}, headers=auth)
        assert answer.status_code == 200, answer.text
        return answer.json()

    # before anything had the name, there was no such app
    earlier = client.get("/api/v1/apps/web/at", params={"time": before}, headers=auth)
    assert earlier.status_code == 404
    assert (at(created)["exists"], at(created)["domains"], at(created)["deployments"]) == (
        True,
        ["a.test"],
        [],
    )
    [then] = at(failed)["deployments"]
    assert (then["id"], then["status"]) == (deployment_id, "failed")
    assert at(failed)["domains"] == ["a.test"]
    assert at(now())["domains"] == ["b.test"]
    assert at(now())["live"] is None

    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    page = client.get("/apps/web", params={"at": created})
    assert page.status_code == 200
    assert '<td id="domains-then">a.test</td>' in page.text
    assert "No deployment yet at that moment." in page.text

    assert client.delete("/api/v1/apps/web", headers=auth).status_code in (200, 204)
    assert at(failed)["domains"] == ["a.test"]  # a deleted app's history stays answerable
    assert at(now())["exists"] is False

    bad = client.get("/api/v1/apps/web/at", params={"time": "noon"}, headers=auth)
    assert bad.status_code == 400
    assert (
        client.get("/api/v1/apps/nope/at", params={"time": now()}, headers=auth).status_code == 404
    )
