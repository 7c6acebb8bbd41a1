"""A team's notifications page: an admin adds a channel (its URL never shown again, a webhook's
secret shown once), is told why a URL is refused, sends a test and sees the attempt, removes a
channel; a viewer reads the channels without a form; another team finds nothing."""

from __future__ import annotations

from tests.web.notification_steps import loopback_channel
from tests.web.page_parts import text_of

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"


def test_an_admin_adds_tests_and_removes_a_channel(
    client, member, session_headers, call, services, log_types
) -> None:
    member("root@example.com", "owner")
    token = session_headers("root@example.com")["X-CSRF-Token"]
    assert "No channel yet" in client.get("/teams/default/notifications").text

    refused = client.post(
        "/teams/default/notifications",
        data={
            "csrf_token": token,
            "name": "hook",
            "kind": "webhook",
            "url": "http://127.0.0.1:9/hook",
            "on": "deployment.failed",
        },
    )
    assert refused.status_code == 422
    assert "notify_allow_private" in refused.text
    assert 'value="hook"' in refused.text  # what was typed comes back, never the URL

    made = client.post(
        "/teams/default/notifications",
        data={
            "csrf_token": token,
            "name": "chat",
            "kind": "slack",
            "url": SLACK,
            "on": "deployment.failed, backup.failed",
            "projects": "default",
        },
        follow_redirects=True,
    )
    assert made.status_code == 200
    channel = text_of(made.text, "channel-chat") or ""
    assert "slack" in channel
    assert "TIiajkdnlazkcOXrIdevi7" not in made.text
    assert "told of backup.failed, deployment.failed" in made.text
    assert "team.notification_channel_set" in log_types()

    call(loopback_channel, services, "default", "pager")
    tested = client.post("/teams/default/notifications/pager/test", data={"csrf_token": token})
    assert tested.status_code == 200
    result = text_of(tested.text, "test-result") or ""
    assert "failed" in result
    assert "loopback" in result
    assert "notification.failed" in log_types()

    removed = client.post(
        "/teams/default/notifications/chat/remove",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert removed.status_code == 200
    assert 'data-channel="chat"' not in removed.text
    assert 'data-channel="pager"' in removed.text


def test_a_viewer_reads_without_forms_and_another_team_finds_nothing(
    client, member, session_headers, call, services
) -> None:
    member("root@example.com", "owner")
    member("view@example.com", "viewer")
    call(loopback_channel, services, "default")
    session_headers("view@example.com")
    page = client.get("/teams/default/notifications")
    assert page.status_code == 200
    assert 'data-channel="alerts"' in page.text
    assert 'id="set-channel"' not in page.text
    assert 'id="test-alerts"' not in page.text
    member("stranger@example.com", "owner", team="zeta")
    session_headers("stranger@example.com")
    assert client.get("/teams/default/notifications").status_code == 404
