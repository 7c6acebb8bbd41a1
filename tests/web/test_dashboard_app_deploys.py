"""The dashboard's deploy and roll-back buttons are recorded as the dashboard's; after a
failure the way on is offered (deploy again, change settings); the app is one click away
(Visit); empty boxes and lists say so."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    TrafficSwitched,
)
from rivetr.web.app import create_app
from tests.web.dashboard_pages import csrf_of, events
from tests.web.test_api_deployments import APP, settled


@pytest.fixture
def csrf(client, auth) -> str:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get("/apps/web").text)


async def served(services, deployment_id: str) -> None:
    """A release of web that served traffic (so it can be rolled back to)."""
    web = await services.lookup.by_name("web")
    history = [
        DeploymentRequested(
            deployment_id=deployment_id, app="web", app_id=web.app_id, branch="main", image="i1"
        ),
        ContainerStarted(
            deployment_id=deployment_id,
            container_id="c1",
            container_name="rivetr-web-d1",
            image="i1",
            host_port=30001,
            duration_ms=1,
        ),
        DeploymentHealthy(deployment_id=deployment_id, probes=1, duration_ms=1),
        TrafficSwitched(deployment_id=deployment_id, app="web", host_port=30001),
    ]
    meta = EventMeta(actor="test", team=web.team, resource=web.app_id)
    await services.store.append(f"deployment-{deployment_id}", 0, history, meta)
    await services.runner.wait_until(await services.store.head())


def test_deploying_and_rolling_back_from_the_dashboard_say_so(
    client, auth, csrf, call, services
) -> None:
    page = client.get("/apps/web").text
    assert 'id="no-deployments"' in page
    assert "No deployment yet" in page
    deployed = client.post("/apps/web/deploy", data={"csrf_token": csrf}, follow_redirects=False)
    deployment_id = deployed.headers["location"].removeprefix("/deployments/")
    settled(client, auth, deployment_id)
    [asked] = events(call, services, "deployment.requested")
    assert asked.trigger == "dashboard"

    call(served, services, "d1")
    back = client.post(
        "/apps/web/rollback", data={"csrf_token": csrf, "to": "d1"}, follow_redirects=False
    )
    assert back.status_code in (302, 303), back.text
    rollback = events(call, services, "deployment.requested")[-1]
    assert (rollback.trigger, rollback.rollback_of) == ("dashboard", "d1")
    row = client.get("/apps/web").text
    assert "rollback to <code>d1</code>" in row
    assert "(dashboard)" in row


def test_after_a_failure_the_pages_offer_change_settings_beside_deploy_again(
    client, auth, csrf
) -> None:
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)  # fails: no engine
    app_page = client.get("/apps/web").text
    assert "Deploy again</button>" in app_page
    assert 'id="change-settings" href' not in app_page
    assert '<a class="button" href="/apps/web/settings" id="change-settings">' in app_page
    assert '<span class="badge failed">failed</span>' in app_page
    deployment = client.get(f"/deployments/{deployment_id}").text
    assert 'id="deploy-again"' in deployment
    assert 'href="/apps/web/settings" id="change-settings"' in deployment
    assert '<span id="status" class="badge failed">failed</span>' in deployment
    home = client.get("/").text
    assert 'class="badge failed">failed</a>' in home  # the app's last deploy, on the home list


def test_an_ended_deployment_offers_no_cancel_and_refuses_one_as_the_api_does(
    client, auth, csrf, call, services
) -> None:
    """Cancelling one in flight is driven in Chromium against a real build
    (tests/e2e/test_journey_apps.py); here, the refusals."""
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)  # fails: no engine
    assert 'id="cancel-deployment"' not in client.get(f"/deployments/{deployment_id}").text
    stale = client.post(f"/deployments/{deployment_id}/cancel", data={}, follow_redirects=False)
    assert stale.status_code == 403
    late = client.post(f"/deployments/{deployment_id}/cancel", data={"csrf_token": csrf})
    assert late.status_code == 422
    assert "already ended: failed" in late.text
    assert events(call, services, "deployment.cancelled") == []


def test_empty_output_and_log_boxes_say_so(client, auth, csrf) -> None:
    page = client.get("/apps/web").text
    assert 'data-empty="No output yet: the container has written nothing."></pre>' in page
    deployment_id = client.post("/api/v1/apps/web/deployments", headers=auth).json()[
        "deployment_id"
    ]
    settled(client, auth, deployment_id)
    assert 'data-empty="No log lines yet' in client.get(f"/deployments/{deployment_id}").text


@pytest.fixture
def on_port_8000(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=str(tmp_path / "data"), engine="none", proxy_enabled=False, proxy_http_port=8000
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_visit_link_names_the_proxys_port_when_it_is_not_80(on_port_8000) -> None:
    client = on_port_8000
    services = client.app.state.services
    _, secret = client.blocking_portal.call(services.tokens.create, SYSTEM, "t", "admin")
    headers = {"Authorization": f"Bearer {secret}"}
    app = {"name": "web", "domains": ["web.test", "*.web.test", "web.test/api"]}
    assert client.post("/api/v1/apps", json=app, headers=headers).status_code == 201
    client.cookies.set("rivetr_token", secret)
    page = client.get("/apps/web").text
    assert 'href="http://web.test:8000"' in page
    assert 'href="http://web.test:8000/api"' in page
    assert "Visit *.web.test" not in page  # a wildcard names no one host
    assert 'class="visit" rel="noopener">web.test</a>' in client.get("/").text
