"""A team's notification channel written as events, for tests of who may use it: it posts to
loopback, which the notifier refuses before any connection, so a test notice fails at once."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.notification_events import ChannelSet
from rivetr.domain.notifications import stream_id
from rivetr.service.reactors.notifier import secret_context, url_context

CHANNEL = "alerts"


async def loopback_channel(services: Any, team: str, name: str = CHANNEL) -> str:
    channel_id = f"{team}{name}".ljust(12, "x")[:12]
    made = ChannelSet(
        team=team,
        name=name,
        channel_id=channel_id,
        kind="webhook",
        url=services.secrets.seal(url_context(team, channel_id), "https://127.0.0.1:9/hook"),
        signing_secret=services.secrets.seal(secret_context(team, channel_id), "whsec_test"),
        on=["deployment.failed"],
    )
    meta = EventMeta(actor="test", source="system", team=team)
    await services.store.append(stream_id(team), None, [made], meta)
    await services.runner.wait_until(await services.store.head())
    return channel_id
