"""The facts of notifications: a team's channels (set on the team's stream, their URLs and
signing secrets sealed) and each notice sent on one (on the channel's own stream, appended by
the notifier alone).

A notice's `key` names what it tells and where it goes (`<position>:<channel id>` for an event
of the log), so the notifier never sends again what a `notification.delivered` records, across
restarts; a delivery cut short by a crash before it was recorded is sent again (at least once).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.settings import Count

NoticeKind = Literal[
    "deployment.succeeded",
    "deployment.failed",
    "deployment.rolled_back",
    "release.died",
    "backup.failed",
    "backup.verified",
    "certificate.failed",
    "certificate.expiring",
    "engine.lost",
    "engine.back",
    "host.threshold",
    "host.storage",
    "job.failed",
    "test",  # the "send a test" action: every channel takes it, none subscribes to it
]
ChannelKind = Literal[
    "email",
    "slack",
    "discord",
    "telegram",
    "mattermost",
    "teams",
    "ntfy",
    "gotify",
    "pushover",
    "webhook",
]


class ChannelSet(Event, frozen=True, kw_only=True, tag="team.notification_channel_set"):
    """A team's channel, added or replaced whole. `channel_id` is new when the name is: a
    channel removed and added again starts a stream of its own."""

    team: str
    name: str
    channel_id: str
    kind: ChannelKind
    url: str  # sealed: an apprise URL, or the endpoint a signed webhook is posted to
    signing_secret: str | None = None  # sealed; a webhook channel's HMAC-SHA256 key
    on: list[NoticeKind] = msgspec.field(default_factory=list)
    projects: list[str] = msgspec.field(default_factory=list)  # []: every project
    environments: list[str] = msgspec.field(default_factory=list)  # []: every environment


class ChannelRemoved(Event, frozen=True, kw_only=True, tag="team.notification_channel_removed"):
    team: str
    name: str
    channel_id: str


class _Attempt(Event, frozen=True, kw_only=True):
    """One try at sending a notice on a channel."""

    channel_id: str
    team: str
    channel: str
    key: str
    notice: NoticeKind
    title: str
    attempt: Count
    source_position: Count | None = None  # the event it tells of; None for a test or a reminder


class NoticeDelivered(_Attempt, frozen=True, kw_only=True, tag="notification.delivered"):
    """The channel's service took the notice (answered 2xx, or the mail server accepted it)."""


class NoticeFailed(_Attempt, frozen=True, kw_only=True, tag="notification.failed"):
    """An attempt that did not get through; `final` when no other one follows."""

    reason: str
    final: bool
