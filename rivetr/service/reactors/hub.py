"""The event log, live, for many readers (SSE clients): one subscription to the store fanned out
to every reader, each event encoded once.

Resuming is exact: a reader that gives the last position it saw gets every event after it once
and only once. It first reads the history from the store page by page (`catch_up`, with
nothing queued yet, so a long history cannot overflow anything), then registers with the hub,
reads from the store again up to the position the hub had published when it registered
(meanwhile the hub queues what it publishes for the reader, bounded), and from then on the hub
hands each event straight to the reader's sink (`push_to`), skipping positions already sent. A
reader whose queue overflows while it catches up is cut off; it reconnects with
`Last-Event-ID` and loses nothing, and it never makes the hub or the other readers wait."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable

import msgspec

from rivetr.adapters.eventstore.base import EventStore, LoggedEvent
from rivetr.adapters.eventstore.redaction import shown_json
from rivetr.domain.places import Places, event_project
from rivetr.service.reactors.placement import PLACING, PlaceEvents

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000  # events a reader may fall behind before it is cut off
PAGE = 500


class Delivery(msgspec.Struct, frozen=True):
    """One event as readers get it: where it is, which app it concerns, its JSON, and the
    server-sent event message carrying it, encoded once for every reader."""

    position: int
    type: str
    stream_id: str
    team: str | None
    app: str | None
    json: bytes
    sse: bytes


class StreamFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which events a reader wants (each None: any), and which teams' it may see."""

    app: str | None = None  # the id of the app the events concern
    stream: str | None = None
    types: tuple[str, ...] = ()  # exact types, or prefixes ending in '*' (deployment.*)
    teams: frozenset[str] | None = None  # None: every team's, and events of no team
    instance: bool = True  # with `teams`: the events of no team too
    place: PlaceEvents | None = None  # those of a project (or one of its environments)
    # with `teams`, for a reader that reads project by project: where it reads, and the project
    # of each app and database (learnt from the events too as they pass: one made or moved
    # meanwhile)
    places: Places | None = None
    resource_projects: dict[str, str] = msgspec.field(default_factory=dict)

    def accepts(self, delivery: Delivery) -> bool:
        if self.teams is not None and not self.sees(
            delivery.team, delivery.stream_id, delivery.app
        ):
            return False
        if self.app is not None and delivery.app != self.app:
            return False
        if self.stream is not None and delivery.stream_id != self.stream:
            return False
        if self.place is not None and not self.place.accepts(
            delivery.position, delivery.type, delivery.stream_id, delivery.app, delivery.json
        ):
            return False
        return self.takes_type(delivery.type)

    def takes_type(self, event_type: str) -> bool:
        return not self.types or any(_type_matches(event_type, t) for t in self.types)

    def sees_team(self, team: str | None) -> bool:
        if self.teams is None:
            return True
        return self.instance if team is None else team in self.teams

    def sees(self, team: str | None, stream_id: str, app: str | None) -> bool:
        """Whether the reader may see an event of `team` in `stream_id`, about `app` (the id of
        the app or database it concerns)."""
        if self.places is None or self.places.whole() or team is None:
            return self.sees_team(team)
        if app is not None and app not in self.resource_projects:
            return False  # one not placed yet (the read model behind): shown to no one
        project = self.resource_projects.get(app) if app is not None else None
        return self.places.sees(team, event_project(stream_id, project))

    def learn(self, delivery: Delivery) -> None:
        """Note the project an app or a database is made in, or an app moved to, as its event
        passes."""
        if self.places is None or self.places.whole() or delivery.app is None:
            return
        body = msgspec.json.decode(delivery.json, type=_Placed).data
        self.resource_projects[delivery.app] = body.project


class Subscription:
    """One reader's place in the log. While it catches up, what the hub publishes waits in a
    bounded queue; once pushed to a sink, each delivery goes to it on the hub's own turn,
    with no task switch per reader."""

    def __init__(self, wanted: StreamFilter, last: int, limit: int) -> None:
        self.wanted = wanted
        self.last = last  # the last position the reader has been given
        self.limit = limit
        self.pending: deque[Delivery] = deque()
        self.cut = False  # the queue overflowed while the reader caught up
        self.sink: Callable[[Delivery], None] | None = None

    def offer(self, delivery: Delivery) -> None:
        if delivery.type in PLACING and delivery.position > self.last:
            self.wanted.learn(delivery)
        if self.cut or delivery.position <= self.last or not self.wanted.accepts(delivery):
            return
        if self.sink is not None:
            self.last = delivery.position
            self.sink(delivery)
        elif len(self.pending) >= self.limit:
            self.cut = True
            self.pending.clear()  # the reader will read them again from the store
        else:
            self.pending.append(delivery)

    def push_to(self, sink: Callable[[Delivery], None]) -> None:
        """From now on hand every delivery to `sink` as the hub publishes it (what is queued
        first). The sink must not block: it is called on the hub's turn, once per reader."""
        while self.pending:
            delivery = self.pending.popleft()
            self.last = delivery.position
            sink(delivery)
        self.sink = sink


class EventHub:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.position = 0  # the last position handed to the subscriptions
        self.subscriptions: set[Subscription] = set()
        self._readers = asyncio.Event()  # set while someone is subscribed

    async def run(self, after: int) -> None:
        """Follow the log while anyone is subscribed; with no reader it does nothing at all
        (no polling), so an idle service pays nothing for the stream. The first reader after
        a pause has read the history itself, and the hub resumes after what it read."""
        self.position = max(self.position, after)
        while True:
            if not self.subscriptions:
                self._readers.clear()
                await self._readers.wait()
            while self.subscriptions:
                batch = await self.store.read_logged(after=self.position, limit=PAGE)
                for recorded in batch:
                    delivery = deliver(recorded)
                    self.position = recorded.position
                    for subscription in list(self.subscriptions):
                        subscription.offer(delivery)
                if len(batch) < PAGE:
                    # No timeout to notice the last reader leaving: the store's one poll timer
                    # serves every waiter, so waiting costs nothing, and the next event finds
                    # the hub without readers and sends it back to sleep. (A 5 s timeout here
                    # read the store every 5 s for as long as anyone was subscribed.)
                    await self.store.wait_for_new(self.position)

    async def subscribe(
        self, wanted: StreamFilter, after: int | None, *, limit: int = QUEUE_LIMIT
    ) -> Subscription:
        """A reader's subscription from position `after` (None: from now on), not yet live:
        `catch_up` gives its history and makes it live, `push_to` then takes the live
        events, and `unsubscribe` when the reader leaves."""
        last = await self.store.head() if after is None else after
        return Subscription(wanted, last, limit)

    async def catch_up(self, subscription: Subscription) -> AsyncIterator[Delivery]:
        """The subscription's history, then, once registered with the hub, what the hub had
        published by then; what follows reaches the subscription from the hub."""
        wanted = subscription.wanted
        while True:  # the history, with no queue to overflow
            batch = await self.store.read_logged(after=subscription.last, limit=PAGE)
            for delivery in await self._wanted(batch, wanted):
                yield delivery
            if batch:
                subscription.last = batch[-1].position
            if len(batch) < PAGE:
                break
        if not self.subscriptions:
            # the hub has been idle: nobody needs what this reader has already read, so it
            # resumes after it instead of handing out the whole pause again
            self.position = max(self.position, subscription.last)
        self.subscriptions.add(subscription)
        self._readers.set()
        registered_at = self.position  # from here on the hub hands events to the subscription
        while subscription.last < registered_at:  # what the hub published meanwhile
            batch = await self.store.read_logged(after=subscription.last, limit=PAGE)
            batch = [r for r in batch if r.position <= registered_at]
            if not batch:
                break
            for delivery in await self._wanted(batch, wanted):
                yield delivery
            subscription.last = batch[-1].position

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    async def _wanted(self, batch: Iterable[LoggedEvent], wanted: StreamFilter) -> list[Delivery]:
        found = []
        for logged in batch:
            if logged.team is not None and not wanted.sees_team(logged.team):
                continue  # before encoding it: the cheap test first
            delivery = deliver(logged)
            if delivery.type in PLACING:
                wanted.learn(delivery)
            if wanted.accepts(delivery):
                found.append(delivery)
        return found


def deliver(logged: LoggedEvent) -> Delivery:
    """The event as readers get it, with the app and team it concerns as the store read them
    (recorded with it, or for an event of an older log, filled in: eventstore/legacy.py)."""
    json = _event_json(logged)
    sse = b"id: %d\nevent: %s\ndata: %s\n\n" % (logged.position, logged.type.encode(), json)
    return Delivery(
        logged.position, logged.type, logged.stream_id, logged.team, logged.resource, json, sse
    )


def _type_matches(event_type: str, wanted: str) -> bool:
    if wanted.endswith("*"):
        return event_type.startswith(wanted[:-1])
    return event_type == wanted


class _Message(msgspec.Struct, kw_only=True):
    position: int
    stream_id: str
    version: int
    type: str
    recorded_at: str
    actor: str
    team: str | None
    source: str | None
    app: str | None  # the id of the app it concerns
    data: msgspec.Raw


_encode = msgspec.json.Encoder().encode


class _Project(msgspec.Struct):
    project: str = "default"  # an app made before projects is in its team's default project


class _Placed(msgspec.Struct):
    data: _Project


def _event_json(recorded: LoggedEvent) -> bytes:
    # sealed values are never streamed, even sealed; nor are password hashes
    data = shown_json(recorded.data)
    return _encode(
        _Message(
            position=recorded.position,
            stream_id=recorded.stream_id,
            version=recorded.version,
            type=recorded.type,
            recorded_at=recorded.recorded_at,
            actor=recorded.actor,
            team=recorded.team,
            source=recorded.source,
            app=recorded.resource,
            data=msgspec.Raw(data),
        )
    )
