"""The dashboard's webhook buttons: on (or rotate) shows the secret once with each git host's
URL and where to paste it; off turns it off; both through the webhook service."""

from __future__ import annotations

import re

import pytest

from tests.web.dashboard_pages import csrf_of, events
from tests.web.test_api_deployments import APP


@pytest.fixture
def csrf(client, auth) -> str:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get("/apps/web/settings").text)


def secret_on(page: str) -> str:
    found = re.search(r'id="webhook-secret" readonly value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_turning_the_webhook_on_shows_the_secret_once_and_each_hosts_url(
    client, csrf, call, services
) -> None:
    assert 'id="webhook-state">off' in client.get("/apps/web/settings").text
    on = client.post("/apps/web/webhook", data={"csrf_token": csrf})
    assert on.status_code == 200
    assert on.headers["cache-control"] == "no-store"
    secret = secret_on(on.text)
    assert secret.startswith("rvw_")
    for provider, where in (
        ("github", "Payload URL"),
        ("gitlab", "Secret token"),
        ("gitea", "Forgejo"),
        ("bitbucket", "Repository push"),
    ):
        row = re.search(rf'data-provider="{provider}">(.*?)</tr>', on.text).group(1)
        assert f"http://testserver.local/webhooks/{provider}/web" in row
        assert where in row
    assert 'id="webhook-note"' not in on.text  # testserver.local is no loopback name
    assert len(events(call, services, "app.webhook_secret_set")) == 1
    for page in ("/apps/web", "/apps/web/settings"):
        shown = client.get(page).text
        assert secret not in shown
        assert "Rotate the secret" in shown or "rotate or turn off" in shown

    rotated = client.post("/apps/web/webhook", data={"csrf_token": csrf})
    assert secret_on(rotated.text) != secret
    assert events(call, services, "app.webhook_secret_set")[-1].rotated

    off = client.post("/apps/web/webhook/off", data={"csrf_token": csrf}, follow_redirects=False)
    assert off.status_code in (302, 303)
    assert events(call, services, "app.webhook_disabled")
    assert 'id="webhook-state">off' in client.get("/apps/web/settings").text


def test_on_a_loopback_address_the_page_says_why_no_git_host_reaches_it(client, csrf) -> None:
    on = client.post(
        "http://127.0.0.1/apps/web/webhook",
        data={"csrf_token": csrf},
        headers={"Host": "127.0.0.1"},
    )
    assert "no git host can reach" in re.search(r'id="webhook-note">([^<]*)<', on.text).group(1)


def test_the_webhook_buttons_need_the_csrf_token_and_app_management(
    client, csrf, member, session_headers, log_types
) -> None:
    assert client.post("/apps/web/webhook", data={}).status_code == 403
    member("dev@example.com", "developer")
    headers = session_headers("dev@example.com")
    before = log_types()
    refused = client.post("/apps/web/webhook", data={"csrf_token": headers["X-CSRF-Token"]})
    api = client.post("/api/v1/apps/web/webhook", headers=headers)
    assert refused.status_code == api.status_code == 403
    assert "rvw_" not in refused.text
    off = client.post("/apps/web/webhook/off", data={"csrf_token": headers["X-CSRF-Token"]})
    assert off.status_code == 403
    assert log_types() == before
