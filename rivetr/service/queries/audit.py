"""Reading the audit history as an actor may: the entries of the teams and projects it reads
(and the instance's, for those who read those), filtered, paged; one event whole; and the log
exported with its hash chain, filtered the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

import msgspec

from rivetr.adapters.eventstore.base import EventStore, LoggedEvent, RecordedEvent
from rivetr.adapters.eventstore.export import export_lines, recorded_form
from rivetr.adapters.eventstore.redaction import shown
from rivetr.domain.access import Actor
from rivetr.domain.errors import Forbidden
from rivetr.domain.places import Places, event_project
from rivetr.projections.audit import AuditEntry, AuditQuery
from rivetr.projections.registry import ReadModel
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.projects import Place, ProjectReads
from rivetr.service.queries.refusals import Absent, BadQuery
from rivetr.service.reactors.hub import StreamFilter


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What an actor asks of the history; times as given (ISO 8601, UTC if bare)."""

    actor: str | None = None
    app: str | None = None  # the name an app has now
    type: str | None = None
    since: str | None = None
    until: str | None = None
    before: int | None = None
    project: str | None = None  # `team/project`, or a project's slug in any team one reads
    environment: str | None = None  # one environment of that project
    limit: int = 50


def log_time(value: str | None) -> str | None:
    """A time as the log records it, or a refusal naming what is wrong with it."""
    try:
        return recorded_form(value) if value is not None else None
    except ValueError as exc:
        raise BadQuery(str(exc)) from None


def readable_places(actor: Actor, refusal: str) -> Places | None:
    """Where the actor reads events (None: everywhere); refused, saying `refusal`, when
    nowhere."""
    places = actor.readable_places()
    if places is not None and not places.team_names():
        raise Forbidden(refusal)
    return places


def _teams(places: Places | None) -> frozenset[str] | None:
    return places.team_names() if places is not None else None


_NO_READING = "reading the audit history needs the read permission"


class AuditedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event whole: its audit entry (its resource and team as readers see them), every stored
    field, and its body as a person is shown it (password hashes redacted, sealed values as
    `sealed`, never opened)."""

    entry: AuditEntry
    stored: RecordedEvent
    body: Any

    def metadata(self) -> dict[str, object]:
        """Everything recorded about the event but its body."""
        stored, entry = self.stored, self.entry
        return {
            "position": stored.position,
            "recorded_at": stored.recorded_at,
            "type": stored.type,
            "schema_version": stored.schema_version,
            "stream_id": stored.stream_id,
            "version": stored.version,
            "actor": stored.actor,
            "source": stored.source,
            "team": entry.team,
            "app": entry.app,
            "app_id": entry.app_id,
            "database": entry.database,
            "database_id": entry.database_id,
            "stack": entry.stack,
            "stack_id": entry.stack_id,
            "event_id": stored.event_id,
            "correlation_id": stored.correlation_id,
            "causation_id": stored.causation_id,
            "prev_hash": stored.prev_hash,
            "hash": stored.hash,
        }


class AuditReads:
    def __init__(
        self, read: ReadModel, store: EventStore, apps: AppReads, projects: ProjectReads
    ) -> None:
        self.read = read
        self.store = store
        self.apps = apps
        self.projects = projects

    async def place(self, actor: Actor, wanted: AuditFilter) -> Place | None:
        """The project (and environment) `wanted` is narrowed to, if it names one."""
        if wanted.project is None and wanted.environment is None:
            return None
        return await self.projects.place(actor, wanted.project, wanted.environment)

    async def query(self, actor: Actor, wanted: AuditFilter) -> AuditQuery:
        """The query that answers `wanted` within what the actor may read."""
        places = readable_places(actor, _NO_READING)
        app_id = (await self.apps.readable(actor, wanted.app)).id if wanted.app else None
        place = await self.place(actor, wanted)
        return AuditQuery(
            actor=wanted.actor,
            app_id=app_id,
            type=wanted.type,
            since=log_time(wanted.since),
            until=log_time(wanted.until),
            before=wanted.before,
            teams=_teams(places),
            instance=actor.reads_instance_events(),
            projects=place.projects if place else None,
            environment=place.environment if place else None,
            places=places,
            limit=wanted.limit,
        )

    async def entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The entries of a query `query` made (newest first)."""
        return await self.read.audit.search(query)

    async def export(
        self,
        actor: Actor,
        fmt: Literal["jsonl", "csv"],
        wanted: AuditFilter,
    ) -> AsyncIterator[str]:
        """The events, oldest first, with their hash-chain fields, that the actor may read and
        `wanted` takes (its app, actor, type, place and times, as the history filters them);
        an event's place is the one the audit view recorded for it when it happened."""
        places = readable_places(actor, _NO_READING)
        app = wanted.app
        app_id = (await self.apps.readable(actor, app)).id if app is not None else None
        place = await self.place(actor, wanted)
        there = (
            await self.read.audit.positions_in(place.projects, place.environment) if place else None
        )
        readable = StreamFilter(
            teams=_teams(places),
            instance=actor.reads_instance_events(),
            types=(wanted.type,) if wanted.type else (),
            places=places,
            resource_projects=await self.resource_projects(places),
        )

        def keep(event: LoggedEvent) -> bool:
            return (
                readable.sees(event.team, event.stream_id, event.resource)
                and (app_id is None or event.resource == app_id)
                and (wanted.actor is None or event.actor == wanted.actor)
                and readable.takes_type(event.type)
                and (there is None or event.position in there)
            )

        filtered = app is not None or places is not None or wanted.actor or wanted.type or place
        return export_lines(
            self.store,
            fmt,
            since=log_time(wanted.since),
            until=log_time(wanted.until),
            keep=keep if filtered else None,
        )

    async def event(self, actor: Actor, position: int) -> AuditedEvent:
        """The event at `position`, if the actor reads its team (or the instance's events, for
        one of no team), as the history shows its entry.

        Raises:
            Absent: no such event, or one the actor may not read (the same answer).
        """
        entry = await self.read.audit.at(position)
        places = actor.readable_places()
        if entry is not None and places is not None:
            if entry.team is None:
                readable = actor.reads_instance_events()
            else:
                resource = entry.app_id or entry.database_id or entry.stack_id
                project = await self.read.audit.place_of(resource) if resource else None
                where = event_project(entry.stream_id, project[1] if project else None)
                readable = places.sees(entry.team, where)
            entry = entry if readable else None
        stored = await self.store.read_all(after=position - 1, limit=1) if entry else []
        if entry is None or not stored:
            raise Absent(f"No event at position {position} that you may read.")
        return AuditedEvent(entry=entry, stored=stored[0], body=shown(stored[0].data))

    async def page_query(self, actor: Actor, wanted: AuditFilter) -> AuditQuery:
        """As `query`, for the dashboard's page, which refuses nothing: an app or a project
        unknown, or of a team the actor does not read, shows no entries (they are filtered by
        the teams the reader may see); times are already in the log's form."""
        named = await self.read.apps.named(wanted.app) if wanted.app else None
        try:
            place = await self.place(actor, wanted)
        except (Absent, BadQuery):
            place = Place(projects=frozenset())  # a place unknown (or not the reader's): none
        return AuditQuery(
            actor=wanted.actor,
            app_id=(named.id if named else "-") if wanted.app else None,
            type=wanted.type,
            since=wanted.since,
            until=wanted.until,
            before=wanted.before,
            teams=_teams(actor.readable_places()),
            instance=actor.reads_instance_events(),
            projects=place.projects if place else None,
            environment=place.environment if place else None,
            places=actor.readable_places(),
            limit=wanted.limit,
        )

    async def recent(self, actor: Actor, limit: int) -> list[AuditEntry]:
        """The newest entries of the teams and projects the actor reads: the home page's
        activity."""
        places = actor.readable_places()
        return await self.read.audit.search(
            AuditQuery(limit=limit, teams=_teams(places), places=places)
        )

    async def resource_projects(self, places: Places | None) -> dict[str, str]:
        """app or database id -> its project, for a reader that reads project by project (else
        none needed)."""
        if places is None or places.whole():
            return {}
        return await self.read.audit.resource_projects()

    async def head(self) -> int:
        """The log's last position: where a page rendered now follows it from."""
        return await self.store.head()
