"""The upcaster of metadata: which app and team an event of an older log concerns, filled in
when it is read, never by rewriting the log.

Since migration 0003 an event records its resource (the app's id) and its team when it is
appended, and every reader takes them from there. An older event names its app by name only
(or by its stream), and a name could belong to several apps one after the other: the app it
meant is the one that held the name at that point of the log. The store learns, once and then
as the log grows, which app each old app stream held from which position, which app each old
deployment belongs to, and each app's team; `fill` then answers for any event at any position,
read in any order. The stored columns stay as they were: the hash chain covers them, so
`rivetr audit verify` reads the log as stored (`read_all`), readers of facts read it filled
(`read_logged`)."""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.codec import UnreadableEvent
from rivetr.domain.events import AppCreated, DeploymentRequested

# the event types it learns from; a store's `Learn` reads these in position order
LEARNS_FROM = ("app.created", "app.deleted", "deployment.requested")

# (after, upto) -> the events of LEARNS_FROM in that range, in position order: of those, only
# app creations with a resource matter (for their team), all the others recorded none
Learn = Callable[[int, int], Awaitable[Sequence[LoggedEvent]]]


class LegacyConcerns:
    def __init__(self, learn: Learn) -> None:
        self._learn = learn
        self._upto = 0  # the position learnt up to
        # an old app stream (`app-<name>`): the positions it changed hands at, and to which app
        # (None once deleted), in order
        self._held_at: dict[str, list[int]] = {}
        self._held_by: dict[str, list[str | None]] = {}
        self._deployments: dict[str, str] = {}  # an old deployment's stream -> its app
        # an app id -> the positions it was created at (an old id may be made again) and in
        # which team
        self._created_at: dict[str, list[int]] = {}
        self._created_in: dict[str, list[str]] = {}

    async def fill(self, events: Sequence[LoggedEvent], after: int) -> list[LoggedEvent]:
        """`events` (those after position `after`, in order) with the app and team each
        concerns, where it did not record them."""
        if not events:
            return []
        upto = events[-1].position
        if after <= self._upto < upto:  # read in order (a projection's catch-up): learn as read
            for event in events:
                if event.position > self._upto and event.type in LEARNS_FROM:
                    self._observe(event)
            self._upto = upto
        if not any(e.team is None or e.resource is None for e in events):
            return list(events)
        if self._upto < upto:
            learnt = await self._learn(self._upto, upto)
            # another reader may have learnt part of it meanwhile: each fact once, in order
            for event in learnt:
                if event.position > self._upto:
                    self._observe(event)
            self._upto = max(self._upto, upto)
        return [self._filled(e) if e.team is None or e.resource is None else e for e in events]

    def _observe(self, event: LoggedEvent) -> None:
        if event.type == "app.created":
            try:
                body = event.event
            except UnreadableEvent:
                return  # nothing to learn from: the events that follow it concern no app
            if isinstance(body, AppCreated):
                self._created_at.setdefault(body.app_id, []).append(event.position)
                self._created_in.setdefault(body.app_id, []).append(body.team)
                if event.resource is None:
                    self._hand(event.stream_id, event.position, body.app_id)
        elif event.resource is not None:
            return
        elif event.type == "app.deleted":  # the name is free: later mentions mean no app
            self._hand(event.stream_id, event.position, None)
        elif event.type == "deployment.requested":
            app_id = self._app_of(event)
            if app_id is not None:
                self._deployments[event.stream_id] = app_id

    def _hand(self, stream: str, position: int, app_id: str | None) -> None:
        self._held_at.setdefault(stream, []).append(position)
        self._held_by.setdefault(stream, []).append(app_id)

    def _holding(self, stream: str, position: int) -> str | None:
        """The app `stream` held just before `position`."""
        at = self._held_at.get(stream)
        if not at:
            return None
        index = bisect.bisect_left(at, position) - 1
        return self._held_by[stream][index] if index >= 0 else None

    def _team_of(self, app_id: str, position: int) -> str | None:
        """The team the app was created in, as of `position` (its own creation included)."""
        at = self._created_at.get(app_id)
        if not at:
            return None
        index = bisect.bisect_right(at, position) - 1
        return self._created_in[app_id][index] if index >= 0 else None

    def _filled(self, event: LoggedEvent) -> LoggedEvent:
        app_id = event.resource or self._app_of(event)
        team = event.team or (self._team_of(app_id, event.position) if app_id else None)
        if (app_id, team) == (event.resource, event.team):
            return event
        return msgspec.structs.replace(_logged(event), resource=app_id, team=team)

    def _app_of(self, event: LoggedEvent) -> str | None:
        """The app an event that did not record it concerns: its body says (a creation, a
        deployment request), or its stream, or the app its body names, as held then."""
        stream, position = event.stream_id, event.position
        if event.type in ("app.created", "deployment.requested"):
            try:
                body = event.event
            except UnreadableEvent:
                return None
            if isinstance(body, DeploymentRequested):
                return body.app_id or self._holding(f"app-{body.app}", position)
            return getattr(body, "app_id", None)
        if stream.startswith("app-"):
            return self._holding(stream, position)
        if stream.startswith("deployment-"):
            return self._deployments.get(stream)
        if b'"app":' in event.data:
            try:
                name = getattr(event.event, "app", None)
            except UnreadableEvent:
                return None
            if isinstance(name, str):
                return self._holding(f"app-{name}", position)
        return None


def _logged(event: LoggedEvent) -> LoggedEvent:
    """The event as a LoggedEvent (a store may hold RecordedEvents): a filled one must not
    carry a hash its fields no longer match."""
    if type(event) is LoggedEvent:
        return event
    return LoggedEvent(*(getattr(event, f) for f in LoggedEvent.__struct_fields__))
