"""A team's notification channels: set with their URLs sealed (and a webhook's signing secret
made here, shown once), removed, tried with a test notice, and shown to the team's members
without their URLs' tokens."""

from __future__ import annotations

import secrets as random
from urllib.parse import urlsplit

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.adapters.notify.base import NoticeSender
from rivetr.adapters.secrets import SecretBox
from rivetr.domain import notices, notifications
from rivetr.domain.access import Actor, Permission, authorize_command, home_team
from rivetr.domain.aggregates import NOTIFICATION_CHANNELS
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import Event
from rivetr.domain.notification_commands import RemoveChannel, SendTestNotice, SetChannel
from rivetr.domain.notification_events import ChannelKind, ChannelSet, NoticeKind
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.notifications import ChannelView, DeliveryView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.apps import new_app_id as new_id
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.queries.refusals import Absent
from rivetr.service.reactors.notifier import Notifier, secret_context, url_context


class ChannelShown(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    name: str
    kind: ChannelKind
    target: str  # the URL's scheme and host: the rest holds the service's token
    on: list[NoticeKind]
    projects: list[str]
    environments: list[str]
    set_at: str
    set_by: str
    deliveries: list[DeliveryView]  # the latest attempts, newest first


class ChannelMade(msgspec.Struct, frozen=True, kw_only=True):
    channel: ChannelShown
    signing_secret: str | None  # a webhook's new secret, shown this once


class NotificationService:
    def __init__(
        self,
        handler: CommandHandler,
        read: ReadModel,
        secrets: SecretBox,
        sender: NoticeSender,
        notifier: Notifier,
    ) -> None:
        self.handler = handler
        self.read = read
        self.secrets = secrets
        self.sender = sender
        self.notifier = notifier

    async def set(self, actor: Actor, command: SetChannel) -> ChannelMade:
        """Add or replace one of a team's channels.

        Raises:
            InvalidCommand: a URL the kind does not take, or one no notice could reach (field
                `url`, the reason named), or no kinds of notice.
            Forbidden / NotFound: as any team command.
        """
        team = command.team or home_team(actor, Permission.MANAGE_APPS)
        command = msgspec.structs.replace(command, team=team)
        notifications.check_url(command.kind, command.url)
        if refused := await self.sender.check(command.kind, command.url):
            raise InvalidCommand(refused, field="url")
        held = await self.read.notifications.channel(team, command.name)
        channel_id = held.channel_id if held is not None else new_id()
        fresh = "whsec_" + random.token_urlsafe(32)
        sealed = msgspec.structs.replace(
            command, url=self.secrets.seal(url_context(team, channel_id), command.url)
        )
        sealed_fresh = self.secrets.seal(secret_context(team, channel_id), fresh)

        def decide(state: notifications.TeamChannels, c: SetChannel) -> list[Event]:
            return notifications.decide(state, c, channel_id, sealed_fresh)

        recorded = await self.handler.execute(
            actor, sealed, NOTIFICATION_CHANNELS, team, decide=decide
        )
        made = recorded[-1].event
        assert isinstance(made, ChannelSet)
        shown = await self._shown(actor, team, command.name)
        return ChannelMade(
            channel=shown, signing_secret=fresh if made.signing_secret == sealed_fresh else None
        )

    async def remove(self, actor: Actor, command: RemoveChannel) -> list[RecordedEvent]:
        team = command.team or home_team(actor, Permission.MANAGE_APPS)
        command = msgspec.structs.replace(command, team=team)
        return await self.handler.execute(
            actor, command, NOTIFICATION_CHANNELS, team, decide=notifications.decide_removal
        )

    async def test(self, actor: Actor, command: SendTestNotice) -> DeliveryView:
        """Send a test notice on the channel now, once, and say how it went (recorded as any
        attempt is)."""
        team = command.team or home_team(actor, Permission.MANAGE_APPS)
        command = msgspec.structs.replace(command, team=team)
        authorize_command(actor, command, await self.handler.resolve(command))
        channel = await self._channel(team, command.name)
        at = self.notifier.clock.now().isoformat()
        notice = notices.test_notice(team, channel.name, at)
        await self.notifier.attempt(channel, notice, 1, final=True)
        latest = await self.read.notifications.deliveries(channel.channel_id, limit=1)
        return latest[0]

    async def reseal(self, actor: Actor) -> int:
        """Seal every channel's URL and signing secret again with the newest key (after
        `rotate`); return how many events that appended."""
        appended = 0
        for channel in await self.read.notifications.channels():
            url = self._resealed(url_context(channel.team, channel.channel_id), channel.url)
            secret = channel.signing_secret
            if secret is not None:
                secret = self._resealed(secret_context(channel.team, channel.channel_id), secret)
            resealed = msgspec.structs.replace(channel.as_set(), url=url, signing_secret=secret)
            command = SetChannel(
                team=channel.team,
                name=channel.name,
                kind=channel.kind,
                url=url,
                on=channel.on,
                projects=channel.projects,
                environments=channel.environments,
            )

            def decide(
                _: notifications.TeamChannels, __: SetChannel, e: Event = resealed
            ) -> list[Event]:
                return [e]

            recorded = await self.handler.execute(
                actor, command, NOTIFICATION_CHANNELS, channel.team, decide=decide
            )
            appended += len(recorded)
        return appended

    def _resealed(self, context: str, sealed: str) -> str:
        return self.secrets.seal(context, self.secrets.open(context, sealed))

    async def every(self, actor: Actor, team: str) -> list[ChannelShown]:
        """The team's channels, for its members; to anyone else the team is absent."""
        await self._readable(actor, team)
        return [
            await self._show(channel) for channel in await self.read.notifications.channels([team])
        ]

    async def shown(self, actor: Actor, team: str, name: str) -> ChannelShown:
        await self._readable(actor, team)
        return await self._shown(actor, team, name)

    async def _shown(self, actor: Actor, team: str, name: str) -> ChannelShown:
        return await self._show(await self._channel(team, name))

    async def _channel(self, team: str, name: str) -> ChannelView:
        channel = await self.read.notifications.channel(team, name)
        if channel is None:
            raise NotFound(f"team {team!r} has no notification channel {name!r}")
        return channel

    async def _readable(self, actor: Actor, team: str) -> None:
        exists = team == ROOT_TEAM or bool(await self.read.teams.every([team]))
        if not exists or not actor.may_read(team):
            raise Absent(f"no team {team!r}")

    async def _show(self, channel: ChannelView) -> ChannelShown:
        url = self.secrets.open(url_context(channel.team, channel.channel_id), channel.url)
        parts = urlsplit(url)
        target = f"{parts.scheme}://{parts.hostname}/…" if channel.kind in _HOSTED else ""
        return ChannelShown(
            team=channel.team,
            name=channel.name,
            kind=channel.kind,
            target=target or f"{parts.scheme}://…",
            on=channel.on,
            projects=channel.projects,
            environments=channel.environments,
            set_at=channel.set_at,
            set_by=channel.set_by,
            deliveries=await self.read.notifications.deliveries(channel.channel_id),
        )


# kinds whose URL's host is where the notice goes, not a part of the service's token
_HOSTED = frozenset({"email", "mattermost", "ntfy", "gotify", "teams", "webhook"})
