"""A stack's webhook on the dashboard: its settings page turns it on (the secret shown once,
with the stack's URL for each git host), rotates and turns it off, for whoever manages the
stack; an inline stack says why it has none; the stack's page lists its deliveries."""

from __future__ import annotations

import re

import pytest

from tests.web.dashboard_pages import csrf_of, events
from tests.web.test_dashboard_app_webhook import secret_on
from tests.web.test_webhooks import signed


@pytest.fixture
def stack(client, auth) -> str:  # type: ignore[no-untyped-def]
    made = client.post(
        "/api/v1/stacks",
        json={"name": "blog", "git_url": "https://git.example.com/blog.git", "branch": "master"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return str(made.json()["stack_id"])


def test_the_settings_page_turns_the_webhook_on_showing_the_secret_once(
    client, stack, call, services
) -> None:
    settings = client.get(f"/stacks/{stack}/settings").text
    assert 'id="webhook-state">off' in settings
    csrf = csrf_of(settings)

    on = client.post(f"/stacks/{stack}/webhook", data={"csrf_token": csrf})

    assert on.status_code == 200
    assert on.headers["cache-control"] == "no-store"
    secret = secret_on(on.text)
    assert secret.startswith("rvw_")
    assert "The webhook of blog is on" in on.text
    for provider in ("github", "gitlab", "gitea", "bitbucket"):
        row = re.search(rf'data-provider="{provider}">(.*?)</tr>', on.text).group(1)
        assert f"http://testserver.local/webhooks/stacks/{provider}/{stack}" in row
    assert len(events(call, services, "stack.webhook_secret_set")) == 1
    for page in (f"/stacks/{stack}", f"/stacks/{stack}/settings"):
        shown = client.get(page).text
        assert secret not in shown
        assert "Rotate the secret" in shown or "rotate or turn off" in shown

    rotated = client.post(f"/stacks/{stack}/webhook", data={"csrf_token": csrf})
    assert secret_on(rotated.text) != secret
    assert events(call, services, "stack.webhook_secret_set")[-1].rotated

    off = client.post(
        f"/stacks/{stack}/webhook/off", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert off.status_code in (302, 303)
    assert events(call, services, "stack.webhook_disabled")
    assert 'id="webhook-state">off' in client.get(f"/stacks/{stack}/settings").text


def test_an_inline_stacks_settings_say_it_has_no_repository_and_the_button_is_refused(
    client, auth, log_types
) -> None:
    made = client.post(
        "/api/v1/stacks", json={"name": "pasted", "compose": "services: {}"}, headers=auth
    )
    inline = made.json()["stack_id"]
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    settings = client.get(f"/stacks/{inline}/settings").text
    assert "no repository pushes to it" in settings
    assert 'id="webhook-on"' not in settings
    before = log_types()

    refused = client.post(f"/stacks/{inline}/webhook", data={"csrf_token": csrf_of(settings)})

    assert refused.status_code == 422
    assert "inline stack has no repository" in refused.text
    assert "rvw_" not in refused.text
    assert log_types() == before


def test_the_buttons_need_the_csrf_token_and_stack_management(
    client, stack, member, session_headers, log_types
) -> None:
    assert client.post(f"/stacks/{stack}/webhook", data={}).status_code == 403
    member("dev@example.com", "developer")
    headers = session_headers("dev@example.com")
    assert "turned on and off by the team's admins" in client.get(f"/stacks/{stack}/settings").text
    before = log_types()
    refused = client.post(f"/stacks/{stack}/webhook", data={"csrf_token": headers["X-CSRF-Token"]})
    assert refused.status_code == 403
    assert "rvw_" not in refused.text
    off = client.post(f"/stacks/{stack}/webhook/off", data={"csrf_token": headers["X-CSRF-Token"]})
    assert off.status_code == 403
    assert log_types() == before


def test_the_stack_page_lists_each_delivery_with_its_decision(client, stack, webhooks) -> None:
    assert 'id="no-deliveries"' in client.get(f"/stacks/{stack}").text
    csrf = csrf_of(client.get(f"/stacks/{stack}/settings").text)
    secret = secret_on(client.post(f"/stacks/{stack}/webhook", data={"csrf_token": csrf}).text)
    body = (webhooks / "github/go-scm/push.json").read_bytes()
    url = f"/webhooks/stacks/github/{stack}"
    client.post(url, content=body, headers=signed("github", body, "rvw_wrong", "push"))
    client.post(url, content=body, headers=signed("github", body, secret, "push"))

    page = client.get(f"/stacks/{stack}").text

    table = re.search(r'<table id="deliveries">(.*?)</table>', page, re.S).group(1)
    assert "<strong>deploy</strong>" in table
    assert "push to master" in table
    assert "<strong>refused</strong>" in table
    assert "the signature does not match the stack&#39;s secret" in table
