"""The notification service: a channel's URL is sealed for its channel alone and sealed again
with the newest key by `secrets rotate`; a sealed value is never taken as a URL; a name the
team does not have is absent."""

from __future__ import annotations

import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.notification_commands import SendTestNotice, SetChannel
from rivetr.service.reactors.notifier import url_context

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"


def test_rotating_the_key_seals_each_channel_again(call, services) -> None:
    made = call(
        services.notifications.set,
        SYSTEM,
        SetChannel(name="chat", kind="slack", url=SLACK, on=["deployment.failed"]),
    )
    assert made.signing_secret is None
    assert made.channel.target == "slack://…"
    before = call(services.read.notifications.channel, "default", "chat")
    assert SLACK not in before.url
    new_key = services.secrets.rotate()

    assert call(services.notifications.reseal, SYSTEM) == 1

    after = call(services.read.notifications.channel, "default", "chat")
    assert after.url != before.url
    assert new_key in after.url
    context = url_context("default", after.channel_id)
    assert services.secrets.open(context, after.url) == SLACK
    assert (after.channel_id, after.on, after.made_at) == (
        before.channel_id,
        before.on,
        before.made_at,
    )


def test_sealed_text_is_no_url_and_a_missing_channel_is_named(call, services) -> None:
    sealed = services.secrets.seal("team:default:notification_channel:x:url", SLACK)
    with pytest.raises(InvalidCommand) as refused:
        call(
            services.notifications.set,
            SYSTEM,
            SetChannel(name="chat", kind="slack", url=sealed, on=["deployment.failed"]),
        )
    assert refused.value.field == "url"
    with pytest.raises(NotFound, match="no notification channel 'nope'"):
        call(services.notifications.test, SYSTEM, SendTestNotice(name="nope"))
