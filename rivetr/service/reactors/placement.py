"""Which events of the live stream concern a place (a project, or one environment of it): those
of the resources (apps, databases with their backups and restores, stacks with their releases)
that are there now, kept current as they are created there or moved in and out, and the
project's own events.

Who is there is read from the read model once, when a reader subscribes; from the position
that read model had reached on, each `app.created`, `app.moved`, `database.created` and
`stack.created` the reader is offered updates it, so a resource that arrives later is
followed and one that leaves is not."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rivetr.domain import projects
from rivetr.domain.database_events import DatabaseCreated
from rivetr.domain.events import AppCreated, AppMoved
from rivetr.domain.stack_events import StackCreated
from rivetr.projections.base import tag

# the events that say where a resource is (a database or a stack never moves)
PLACING = frozenset({tag(AppCreated), tag(AppMoved), tag(DatabaseCreated), tag(StackCreated)})


class _Message(msgspec.Struct):
    """What the placement needs of an event's JSON as the hub encodes it."""

    team: str | None
    data: dict[str, object]


_decode = msgspec.json.Decoder(_Message).decode


class PlaceEvents:
    def __init__(
        self,
        places: frozenset[tuple[str, str]],
        environment: str | None,
        resources: Iterable[str],
        since: int,
    ) -> None:
        self.places = places  # (team, project)
        self.environment = environment  # None: every environment of them
        self.resources = set(resources)  # the ids of those there, as of position `since`
        self.since = since
        self.streams = frozenset(projects.stream_id(projects.key(*p)) for p in places)

    def accepts(
        self, position: int, event_type: str, stream_id: str, resource: str | None, json: bytes
    ) -> bool:
        """Whether the event concerns the place: a resource's that is there (or that the event
        makes there, or moves in or out), or the project's own (about the environment, or the
        whole project)."""
        if stream_id in self.streams:
            if self.environment is None:
                return True
            about = _decode(json).data.get("environment")
            return about is None or about == self.environment
        if resource is None:
            return False
        was_there = resource in self.resources
        if event_type in PLACING and position > self.since:
            self._place(resource, _decode(json))
        return was_there or resource in self.resources

    def _place(self, resource: str, message: _Message) -> None:
        project = message.data.get("project", projects.DEFAULT_PROJECT)
        environment = message.data.get("environment", projects.PRODUCTION)
        if (message.team, project) in self.places and self.environment in (None, environment):
            self.resources.add(resource)
        else:
            self.resources.discard(resource)
