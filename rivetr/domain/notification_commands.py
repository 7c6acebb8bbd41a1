"""What users ask of a team's notification channels. A channel's URL comes in plain and is
sealed by the service before the command reaches the domain; a webhook's signing secret is
never input: the service makes one and shows it once."""

from __future__ import annotations

from typing import Annotated

import msgspec

from rivetr.domain.commands import Command, Slug, TeamSlug
from rivetr.domain.notification_events import ChannelKind, NoticeKind
from rivetr.domain.settings import DnsLabel

ChannelName = DnsLabel
ChannelUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class NotificationCommand(Command, frozen=True, kw_only=True):
    team: TeamSlug | None = None  # None: the caller's only team


class SetChannel(NotificationCommand, frozen=True, kw_only=True):
    name: ChannelName
    kind: ChannelKind
    url: ChannelUrl
    on: list[NoticeKind]
    projects: list[Slug] = msgspec.field(default_factory=list)
    environments: list[Slug] = msgspec.field(default_factory=list)
    # a webhook channel's signing secret: kept when the channel stays a webhook, unless asked
    # for anew (it is shown once, when made)
    new_secret: bool = False


class RemoveChannel(NotificationCommand, frozen=True, kw_only=True):
    name: ChannelName


class SendTestNotice(NotificationCommand, frozen=True, kw_only=True):
    """Send a test notice on the channel now: recorded as any delivery is, never a change."""

    name: ChannelName
