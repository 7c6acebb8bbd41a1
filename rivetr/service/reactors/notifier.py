"""The notifier: follows the log, makes a notice of each event worth telling (`domain/notices`),
and sends it on every channel that wants it, recording each attempt as an event on the
channel's stream.

At least once, never twice: each channel takes its notices in the order of the log, one at a
time, so the last event a settled notice told of (`told_through`) says where it stands; on
start the log is read again from the earliest channel's place, and a notice whose key a
delivery already records is not sent again. Only a send cut short by a crash before its
delivery was recorded goes twice; the key it carries lets a receiver drop the repeat.

Each channel has a worker of its own, so a dead channel retries (with back-off) only its own
notices; deployments never wait for any of this. Events older than `lookback` when Rivetr
starts are not told any more (a stale alarm is noise)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import anyio
import msgspec
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore, LoggedEvent
from rivetr.adapters.notify.base import Delivery, DeliveryFailed, NoticeSender
from rivetr.adapters.secrets import SecretBox
from rivetr.domain import notices
from rivetr.domain.codec import UnreadableEvent
from rivetr.domain.notices import Notice, Placement
from rivetr.domain.notification_events import NoticeDelivered, NoticeFailed
from rivetr.domain.notifications import channel_stream
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.notifications import ChannelView
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner

log = logging.getLogger(__name__)

ACTOR = "system:notifier"
RETRY_DELAYS_S = (10.0, 60.0, 300.0, 1800.0)  # after each failed attempt; then it gives up
EXPIRY_WARNING = timedelta(days=14)
EXPIRY_CHECK_S = 6 * 3600.0
CHANNEL_EVENTS = frozenset(
    {"team.notification_channel_set", "team.notification_channel_removed", "team.deleted"}
)


def url_context(team: str, channel_id: str) -> str:
    return f"team:{team}:notification_channel:{channel_id}:url"


def secret_context(team: str, channel_id: str) -> str:
    return f"team:{team}:notification_channel:{channel_id}:signing_secret"


class Notifier:
    def __init__(
        self,
        store: EventStore,
        runner: ProjectionRunner,
        read: ReadModel,
        sender: NoticeSender,
        secrets: SecretBox,
        clock: Clock,
        *,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
        lookback: timedelta = timedelta(hours=24),
        instance_team: str = ROOT_TEAM,
    ) -> None:
        self.store = store
        self.runner = runner
        self.read = read
        self.sender = sender
        self.secrets = secrets
        self.clock = clock
        self.retry_delays_s = tuple(retry_delays_s)
        self.lookback = lookback
        self.instance_team = instance_team
        self._queues: dict[str, MemoryObjectSendStream[Notice]] = {}
        self._channels: dict[str, ChannelView] = {}
        # where each channel's worker started: after the last event a settled notice told of
        self._places: dict[str, int] = {}
        self._engine_lost = False

    async def run(self) -> None:
        """Tell every channel what it is owed, then follow the log, forever."""
        self._queues, self._channels, self._places = {}, {}, {}  # a restart starts afresh
        async with anyio.create_task_group() as group:
            await self._refresh(group)
            after = await self._resume_point()
            lost = await self.read.audit.last_type(notices.ENGINE_EVENTS, after + 1)
            self._engine_lost = lost == "engine.lost"
            group.start_soon(self._remind_of_expiry)
            async for recorded in self.store.subscribe(after):
                if recorded.type in CHANNEL_EVENTS:
                    await self.runner.wait_until(recorded.position)
                    await self._refresh(group)
                elif recorded.type in notices.TOLD:
                    await self._tell(recorded)

    async def _resume_point(self) -> int:
        """Where the log is read from: the earliest place a channel stands at, but no further
        back than `lookback`."""
        places = self._places.values()
        head = await self.store.head()
        since = (self.clock.now() - self.lookback).isoformat()
        recent = await self.read.audit.first_since(since)
        floor = recent - 1 if recent is not None else head
        return max(min(places, default=head), floor)

    async def _refresh(self, group: TaskGroup) -> None:
        """Start a worker for each new channel, stop those of channels removed."""
        current = {c.channel_id: c for c in await self.read.notifications.channels()}
        for gone in set(self._queues) - set(current):
            await self._queues.pop(gone).aclose()
        for channel_id, channel in current.items():
            if channel_id not in self._queues:
                send, receive = anyio.create_memory_object_stream[Notice](max_buffer_size=10_000)
                self._queues[channel_id] = send
                told = await self.read.notifications.told_through(channel_id)
                self._places[channel_id] = max(told or 0, channel.made_at)
                group.start_soon(self._work, channel_id, receive, self._places[channel_id])
        for gone in set(self._places) - set(current):
            del self._places[gone]
        self._channels = current

    async def _tell(self, logged: LoggedEvent) -> None:
        try:
            event = logged.event
        except UnreadableEvent:
            return  # the audit lists it; nothing can be said of it here
        await self.runner.wait_until(logged.position)
        place = await self._placement(logged)
        notice = notices.of_event(event, place, logged.position, self._engine_lost)
        if logged.type in notices.ENGINE_EVENTS:
            self._engine_lost = logged.type == "engine.lost"
        if notice is not None:
            await self._enqueue(notice)

    async def _placement(self, logged: LoggedEvent) -> Placement:
        entry = await self.read.audit.at(logged.position)
        if entry is None:
            return Placement(team=logged.team)
        return Placement(
            team=entry.team,
            project=entry.project,
            environment=entry.environment,
            app=entry.app,
            stack=entry.stack,
            database=entry.database,
        )

    async def _enqueue(self, notice: Notice) -> None:
        for channel_id, channel in self._channels.items():
            queue = self._queues.get(channel_id)
            if queue is not None and notices.wants(channel.as_set(), notice, self.instance_team):
                try:
                    queue.send_nowait(notice)
                except anyio.WouldBlock:
                    log.warning("channel %s has 10000 notices waiting: dropped one", channel.name)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass  # removed meanwhile: nobody to tell

    async def _work(
        self, channel_id: str, queue: MemoryObjectReceiveStream[Notice], told_through: int
    ) -> None:
        async with queue:
            async for notice in queue:
                position = notice.source_position
                if position is not None and position <= told_through:
                    continue  # settled before this start
                try:
                    await self._deliver(channel_id, notice)
                except Exception:  # one notice's trouble never ends the channel's worker
                    log.exception("notice %s on channel %s", notice.subject, channel_id)

    async def _deliver(self, channel_id: str, notice: Notice) -> None:
        key = notice.key(channel_id)
        if await self.read.notifications.settled(channel_id, key):
            return
        attempt = await self.read.notifications.attempts(channel_id, key)
        while True:
            channel = self._channels.get(channel_id)
            if channel is None:
                return  # removed meanwhile
            attempt += 1
            final = attempt > len(self.retry_delays_s)
            if await self.attempt(channel, notice, attempt, final=final) or final:
                return
            await self.clock.sleep(self.retry_delays_s[attempt - 1])

    async def attempt(
        self, channel: ChannelView, notice: Notice, attempt: int, *, final: bool
    ) -> bool:
        """Send `notice` once and record how it went; whether it got through."""
        delivered = NoticeDelivered(
            channel_id=channel.channel_id,
            team=channel.team,
            channel=channel.name,
            key=notice.key(channel.channel_id),
            notice=notice.kind,
            title=notice.title,
            attempt=attempt,
            source_position=notice.source_position,
        )
        try:
            await self.sender.send(self._delivery(channel, notice, delivered.key))
        except DeliveryFailed as exc:
            fields = msgspec.structs.asdict(delivered)
            await self._record(channel, NoticeFailed(**fields, reason=str(exc), final=final))
            return False
        await self._record(channel, delivered)
        return True

    def _delivery(self, channel: ChannelView, notice: Notice, key: str) -> Delivery:
        url = self.secrets.open(url_context(channel.team, channel.channel_id), channel.url)
        secret = None
        if channel.signing_secret is not None:
            context = secret_context(channel.team, channel.channel_id)
            secret = self.secrets.open(context, channel.signing_secret)
        return Delivery(kind=channel.kind, url=url, signing_secret=secret, notice=notice, key=key)

    async def _record(self, channel: ChannelView, event: NoticeDelivered | NoticeFailed) -> None:
        meta = EventMeta(actor=ACTOR, source="system", team=channel.team)
        recorded = await self.store.append(channel_stream(channel.channel_id), None, [event], meta)
        # the next attempt (and a test's answer) reads how this one went from the view
        await self.runner.wait_until(recorded[-1].position)

    async def _remind_of_expiry(self) -> None:
        """Every few hours: a notice for each certificate that expires within two weeks."""
        while True:
            now = self.clock.now()
            for cert in await self.read.certificates.every():
                if cert.not_after is None or cert.app_id is None:
                    continue
                if datetime.fromisoformat(cert.not_after) - now > EXPIRY_WARNING:
                    continue
                held = await self.read.audit.resource(cert.app_id)
                if held is None or held.team is None:
                    continue  # of no team known: nobody to tell
                place = Placement(
                    team=held.team, project=held.project, environment=held.environment, app=cert.app
                )
                await self._enqueue(notices.expiring(cert.domain, cert.not_after, now, place))
            await anyio.sleep(EXPIRY_CHECK_S)  # real hours: a twin clock would spin it
