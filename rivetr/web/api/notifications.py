"""/api/v1/teams/{team}/notification-channels: a team's channels (their URLs write-only: what
holds the service's token is sealed and never answered), a test notice on one, and the latest
attempts on each."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor
from rivetr.domain.commands import TeamSlug
from rivetr.domain.notification_commands import (
    ChannelName,
    RemoveChannel,
    SendTestNotice,
    SetChannel,
)
from rivetr.projections.notifications import DeliveryView
from rivetr.service.commands.notifications import ChannelMade, ChannelShown, NotificationService
from rivetr.web.api.bodies import body_of

ChannelSettings = body_of(SetChannel, "ChannelSettings", "team", "name")


class NotificationsController(Controller):
    path = "/teams/{team:str}/notification-channels"
    tags = ["notifications"]

    @get("/")
    async def list_channels(
        self,
        team: FromPath[TeamSlug],
        notifications: NamedDependency[NotificationService],
        actor: NamedDependency[Actor],
    ) -> list[ChannelShown]:
        """The team's channels, each with its latest attempts; a URL shows its scheme (and the
        host of a self-hosted service), never its token."""
        return await notifications.every(actor, team)

    @get("/{channel:str}")
    async def get_channel(
        self,
        team: FromPath[TeamSlug],
        channel: FromPath[ChannelName],
        notifications: NamedDependency[NotificationService],
        actor: NamedDependency[Actor],
    ) -> ChannelShown:
        return await notifications.shown(actor, team, channel)

    @put("/{channel:str}", status_code=HTTP_200_OK)
    async def set_channel(
        self,
        team: FromPath[TeamSlug],
        channel: FromPath[ChannelName],
        data: JSONBody[ChannelSettings],  # type: ignore[valid-type]  # a defstruct type
        notifications: NamedDependency[NotificationService],
        actor: NamedDependency[Actor],
    ) -> ChannelMade:
        """Add or replace a channel. `url` is an apprise URL for its `kind` (`mailto://`,
        `slack://`, `discord://`, `tgram://`, `mmost://`, `workflows://`, `ntfy://`,
        `gotify://`, `pover://`, or the https:// webhook URL the service gave), or for a
        `webhook`, the endpoint notices are POSTed to, signed with HMAC-SHA256: its
        `signing_secret` is answered once, when made (or made anew with `new_secret`)."""
        fields: dict[str, Any] = msgspec.structs.asdict(data)
        return await notifications.set(actor, SetChannel(team=team, name=channel, **fields))

    @delete("/{channel:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove_channel(
        self,
        team: FromPath[TeamSlug],
        channel: FromPath[ChannelName],
        notifications: NamedDependency[NotificationService],
        actor: NamedDependency[Actor],
    ) -> None:
        await notifications.remove(actor, RemoveChannel(team=team, name=channel))

    @post("/{channel:str}/test", status_code=HTTP_200_OK)
    async def test_channel(
        self,
        team: FromPath[TeamSlug],
        channel: FromPath[ChannelName],
        notifications: NamedDependency[NotificationService],
        actor: NamedDependency[Actor],
    ) -> DeliveryView:
        """Send a test notice now, once: the attempt as recorded (`delivered`, or `failed`
        with the service's reason)."""
        return await notifications.test(actor, SendTestNotice(team=team, name=channel))
