"""The dashboard's deployment pages without an engine: the deploy button (and its CSRF check),
the app page's timeline with the failure marked, the deployment page with its coloured log,
and the live parts wired to the event and log streams."""

from __future__ import annotations

import re
import time

import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.events import DeploymentFailed, DeploymentRequested
from tests.web.test_api_deployments import APP, settled


@pytest.fixture
def signed_in(client, auth):  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    page = client.get("/apps/web")
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)


def test_the_deploy_button_needs_the_pages_csrf_token(client, auth, signed_in) -> None:
    refused = client.post("/apps/web/deploy", data={"csrf_token": "guess"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "expired" in refused.text

    deployed = client.post(
        "/apps/web/deploy", data={"csrf_token": signed_in}, follow_redirects=False
    )
    assert deployed.status_code in (302, 303)
    deployment_id = deployed.headers["location"].removeprefix("/deployments/")
    detail = settled(client, auth, deployment_id)
    assert detail["deployment"]["requested_by"] == "token:tester"


def test_the_app_page_shows_each_deployments_timeline_with_the_failure_marked(
    client, auth, signed_in
) -> None:
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)
    page = client.get("/apps/web").text
    assert f'id="timeline-{deployment_id}"' in page
    assert '<td class="mark-bad">failed</td>' in page
    assert "engine is unavailable" in page
    assert '"/api/v1/events/stream?app=web\\u0026after=' in page  # (tojson escapes &)
    assert "data-live-region" in page


def test_the_deployment_page_shows_its_steps_and_coloured_log_and_follows_on(
    client, auth, services, signed_in
) -> None:
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)
    services.logs.append("web", deployment_id, "build", "\x1b[31mred\x1b[0m <script>")
    time.sleep(0.05)
    page = client.get(f"/deployments/{deployment_id}")
    assert page.status_code == 200
    assert '<span id="status" class="badge failed">failed</span>' in page.text
    assert '<span class="ansi-fg-red">red</span> &lt;script&gt;' in page.text
    lines = int(re.search(r'data-lines="(\d+)"', page.text).group(1))
    assert lines >= 1
    assert f"/api/v1/deployments/{deployment_id}/logs/stream?after=" in page.text
    follow = client.get(
        f"/api/v1/deployments/{deployment_id}/logs/stream", params={"after": lines}, headers=auth
    )
    assert "event: log" not in follow.text  # nothing after what the page showed
    assert client.get("/deployments/nope").status_code == 404


def test_a_rollback_to_nowhere_is_refused_with_the_reason(client, signed_in) -> None:
    refused = client.post(
        "/apps/web/rollback", data={"csrf_token": signed_in, "to": "nope"}, follow_redirects=False
    )
    assert refused.status_code in (404, 409, 422)
    assert "nope" in refused.text


def test_an_app_is_created_from_the_home_pages_form(client, auth, signed_in) -> None:
    home = client.get("/")
    token = re.search(
        r'id="new-app-form">\s*<input type="hidden" name="csrf_token" value="([0-9a-f]+)"',
        home.text,
    )
    assert token is not None
    form = {
        "csrf_token": token.group(1),
        "name": "shop",
        "git_url": "https://git.example.com/shop.git",
        "port": "8080",
        "domains": "shop.test, www.shop.test",
        "health_path": "/up",
    }
    created = client.post("/apps", data=form, follow_redirects=False)
    assert (created.status_code, created.headers["location"]) in (
        (302, "/apps/shop"),
        (303, "/apps/shop"),
    )
    app = client.get("/api/v1/apps/shop", headers=auth).json()
    assert (app["port"], app["domains"], app["health"]["path"]) == (
        8080,
        ["shop.test", "www.shop.test"],
        "/up",
    )
    again = client.post("/apps", data=form, follow_redirects=False)
    assert again.status_code == 409
    assert "already exists" in again.text
    bad = client.post("/apps", data={**form, "name": "Bad Name"}, follow_redirects=False)
    assert bad.status_code == 422
    assert 'id="f-name-problem"' in bad.text


def test_the_apps_list_shows_each_apps_last_deploy_and_the_app_page_its_certificates(
    client, auth, signed_in
) -> None:
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)
    home = client.get("/").text
    link = f'<a href="/deployments/{deployment_id}" class="badge failed">failed</a>'
    assert link in home
    assert "not running" in home
    page = client.get("/apps/web").text
    assert 'id="certificates"' in page
    assert "No certificate" in page


async def many_deployments(services, count: int) -> None:
    """`count` deployments of web, each requested and failed, d0 the oldest."""
    web = await services.lookup.by_name("web")
    meta = EventMeta(actor="test", team=web.team, resource=web.app_id)
    for n in range(count):
        history = [
            DeploymentRequested(deployment_id=f"d{n}", app="web", app_id=web.app_id, branch="main"),
            DeploymentFailed(deployment_id=f"d{n}", step="build", reason=f"reason {n}"),
        ]
        await services.store.append(f"deployment-d{n}", 0, history, meta)
    await services.runner.wait_until(await services.store.head())


def test_an_apps_deployments_page_back_twenty_at_a_time(
    client, auth, call, services, signed_in
) -> None:
    call(many_deployments, services, 23)

    first = client.get("/apps/web").text
    assert re.findall(r'data-deployment="(d\d+)"', first) == [f"d{n}" for n in range(22, 2, -1)]
    assert 'id="older-deployments" href="/apps/web?older=20"' in first
    assert "newer-deployments" not in first

    second = client.get("/apps/web", params={"older": "20"}).text
    assert re.findall(r'data-deployment="(d\d+)"', second) == ["d2", "d1", "d0"]
    assert 'id="timeline-d0"' in second
    assert 'id="newer-deployments" href="/apps/web"' in second
    assert "older-deployments" not in second
    assert "data-deployment" not in client.get("/apps/web", params={"older": "99"}).text
    assert "d22" in client.get("/apps/web", params={"older": "x"}).text  # not a number: page 1

    api = client.get(
        "/api/v1/apps/web/deployments", params={"limit": 5, "offset": 20}, headers=auth
    )
    assert [d["id"] for d in api.json()] == ["d2", "d1", "d0"]
    refused = client.get("/api/v1/apps/web/deployments", params={"limit": 0}, headers=auth)
    assert refused.status_code == 400
