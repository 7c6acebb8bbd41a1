"""The dashboard's clone page and Promote button: the page lists what it would copy and what
it made, a refusal shows the form again with every clash, and the Promote button of an app
with a counterpart requests a deployment of its live image there, shown as promoted."""

from __future__ import annotations

import re

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    TrafficSwitched,
)
from tests.web.dashboard_pages import csrf_of
from tests.web.test_api_deployments import settled

PAGE = "/projects/default/default/environments/production/clone"


def signed_in_with_web(client, auth) -> str:
    body = {"name": "web", "git_url": "https://git.example.com/web.git"}
    made = client.post("/api/v1/apps", json=body | {"domains": ["shop.example.com"]}, headers=auth)
    assert made.status_code == 201, made.text
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get(PAGE).text)


async def live(services, app: str, deployment_id: str, image: str) -> None:
    """A release of `app` serving traffic, as the pipeline would have recorded it."""
    found = await services.lookup.by_name(app)
    history = [
        DeploymentRequested(
            deployment_id=deployment_id, app=app, app_id=found.app_id, branch="main", image=image
        ),
        ContainerStarted(
            deployment_id=deployment_id,
            container_id="c1",
            container_name=f"rivetr-{app}-{deployment_id}",
            image=image,
            host_port=30001,
            duration_ms=1,
        ),
        DeploymentHealthy(deployment_id=deployment_id, probes=1, duration_ms=1),
        TrafficSwitched(deployment_id=deployment_id, app=app, host_port=30001),
    ]
    meta = EventMeta(actor="test", team=found.team, resource=found.app_id)
    await services.store.append(f"deployment-{deployment_id}", 0, history, meta)
    await services.runner.wait_until(await services.store.head())


def clone(client, csrf: str, **fields: str):  # type: ignore[no-untyped-def]
    form = {
        "csrf_token": csrf,
        "to_environment": "staging",
        "create_environment": "on",
        "name_pattern": "{name}-staging",
        "domain_pattern": "{sub}.staging.{zone}",
    }
    return client.post(PAGE, data=form | fields)


def test_the_clone_page_copies_what_it_lists_and_says_what_it_made(client, auth) -> None:
    csrf = signed_in_with_web(client, auth)
    page = client.get(PAGE).text
    assert re.search(r'id="clone-sources">.*web.*shop\.example\.com', page)

    response = clone(client, csrf)

    assert response.status_code == 201, response.text
    assert 'id="cloned"' in response.text
    assert '<a href="/apps/web-staging">web-staging</a>' in response.text
    assert "shop.staging.example.com" in response.text
    assert client.get("/api/v1/apps/web-staging", headers=auth).status_code == 200


def test_a_refused_clone_shows_the_form_again_naming_every_problem(client, auth) -> None:
    csrf = signed_in_with_web(client, auth)
    assert clone(client, csrf).status_code == 201

    again = clone(client, csrf, name_pattern="{name}-two")
    missing = clone(client, csrf, to_environment="qa", create_environment="")
    expired = clone(client, "not the token")

    assert again.status_code == 409
    assert "is not empty: it holds app web-staging" in again.text
    assert 'value="{name}-two"' in again.text  # as typed
    assert missing.status_code == 404
    assert re.search(r'id="f-to_environment-problem">no environment &#39;qa&#39;', missing.text)
    assert expired.status_code == 403


def test_the_promote_button_deploys_the_live_release_to_the_counterpart(
    client, auth, call, services
) -> None:
    csrf = signed_in_with_web(client, auth)
    assert clone(client, csrf).status_code == 201
    assert "promote-form" not in client.get("/apps/web-staging").text  # nothing live yet
    call(live, services, "web-staging", "d1", "sha256:" + "ab" * 32)
    page = client.get("/apps/web-staging").text
    assert "Promote d1 to web (production)" in page

    response = client.post(
        "/apps/web/promote",
        data={"csrf_token": csrf, "from_app": "web-staging", "deployment_id": "d1"},
        follow_redirects=False,
    )

    assert response.status_code in (302, 303), response.text
    deployment_id = response.headers["location"].removeprefix("/deployments/")
    detail = settled(client, auth, deployment_id)["deployment"]
    assert detail["app"] == "web"
    assert detail["trigger"] == "dashboard"
    assert detail["image"] == "sha256:" + "ab" * 32
    shown = client.get(f"/deployments/{deployment_id}").text
    assert f"promoted from web-staging release d1 (image sha256:{'ab' * 32})" in shown
    stale = client.post(
        "/apps/web/promote",
        data={"csrf_token": csrf, "from_app": "web-staging", "deployment_id": "d0"},
    )
    assert stale.status_code == 422
    assert "d0 is not the release live in" in stale.text
