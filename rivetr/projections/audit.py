"""The audit view: who did what, when, to which stream and resource (an app, a database or a
stack, by id,
with the name it had), in which project and environment as they were then, for every event in
the log; and the queries that read it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.codec import UnreadableEvent
from rivetr.domain.database_events import DatabaseCreated
from rivetr.domain.events import AppCreated, AppMoved
from rivetr.domain.places import PROJECT_STREAM_PREFIX, Places
from rivetr.domain.stack_events import StackCreated
from rivetr.projections.base import drop_legacy_tables, tag
from rivetr.projections.reading import Queries, columns, marks

# the events that make a resource, by the kind of resource each makes; only an app moves
_CREATED = {tag(AppCreated): "app", tag(DatabaseCreated): "database", tag(StackCreated): "stack"}
_APP_MOVED = tag(AppMoved)
_PROJECT_EVENTS = "project."  # each carries its team and project, and its environment if one


class AuditProjection:
    name = "audit"
    # v2: team, source; v3: the app of deployment, certificate and webhook events; v4: the
    # app by id (the resource recorded with the event), and its name; v5: the app and team as
    # the store reads them (filled in for an older log's events); v6: the project and
    # environment the event happened in (its app's place then, or a project event's own), and
    # each app's place now (whose readers read its entries); v7: databases placed as apps are
    # (their backups' and restores' entries with them), in `audit_resources`; v8: stacks placed
    # as well (before, a stack's entries were taken for an unknown app's, in no project)
    version = 8
    handles: frozenset[str] | None = None
    # apply only inserts by position: these serve the readers (see base.reader_indexes)
    reader_indexes = ("audit_by_actor", "audit_by_app", "audit_by_time", "audit_by_place")

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS audit (
                position INTEGER PRIMARY KEY,
                recorded_at TEXT NOT NULL,
                actor TEXT NOT NULL,
                type TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                app TEXT,
                app_id TEXT,
                correlation_id TEXT,
                team TEXT,
                source TEXT,
                project TEXT,
                environment TEXT,
                database TEXT,
                database_id TEXT,
                stack TEXT,
                stack_id TEXT
            )"""
        )
        # each resource's kind, name and team, from its creation, and its place, as it moves:
        # an entry shows the name its resource had and where it lived when the entry was made
        conn.execute(
            """CREATE TABLE IF NOT EXISTS audit_resources (
                resource_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                name TEXT,
                team TEXT,
                project TEXT,
                environment TEXT
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_app ON audit (app_id, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_time ON audit (recorded_at)")
        conn.execute(
            "CREATE INDEX IF NOT EXISTS audit_by_place ON audit (project, team, environment)"
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS audit")
        conn.execute("DROP TABLE IF EXISTS audit_resources")
        conn.execute("DROP TABLE IF EXISTS audit_apps")  # v6 and before
        drop_legacy_tables(conn, "audit")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        known: dict[str, _Resource] = {}  # id -> its kind, name and place, as of the event

        def resource_of(resource_id: str) -> _Resource:
            if resource_id not in known:
                row = conn.execute(
                    "SELECT kind, name, project, environment FROM audit_resources"
                    " WHERE resource_id = ?",
                    (resource_id,),
                ).fetchone()
                known[resource_id] = _Resource(*row) if row else _UNKNOWN
            return known[resource_id]

        rows = []
        for event in events:
            resource_id = event.resource
            resource = _NOWHERE
            if resource_id is not None:
                if event.type in _CREATED:
                    name, team, place = _created(event)
                    known[resource_id] = _Resource(_CREATED[event.type], name, *place)
                    conn.execute(
                        "INSERT OR REPLACE INTO audit_resources VALUES (?, ?, ?, ?, ?, ?)",
                        (resource_id, _CREATED[event.type], name, team, *place),
                    )
                elif event.type == _APP_MOVED:
                    place = _place(event)
                    known[resource_id] = resource_of(resource_id)._replace(
                        project=place[0], environment=place[1]
                    )
                    conn.execute(
                        "UPDATE audit_resources SET project = ?, environment = ?"
                        " WHERE resource_id = ?",
                        (*place, resource_id),
                    )
                resource = resource_of(resource_id)
            project, environment = (
                _place(event)
                if event.type.startswith(_PROJECT_EVENTS)
                else (resource.project, resource.environment)
            )
            # a resource of no known kind is an app's, as the audit has always taken it
            app = (resource.name, resource_id) if resource.kind == "app" else (None, None)
            database = (resource.name, resource_id) if resource.kind == "database" else (None, None)
            stack = (resource.name, resource_id) if resource.kind == "stack" else (None, None)
            rows.append(
                (
                    event.position,
                    event.recorded_at,
                    event.actor,
                    event.type,
                    event.stream_id,
                    *app,
                    event.correlation_id,
                    event.team,
                    event.source,
                    project,
                    environment,
                    *database,
                    *stack,
                )
            )
        conn.executemany(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )


class _Resource(NamedTuple):
    kind: str
    name: str | None
    project: str | None
    environment: str | None


# an id whose creation the audit has not read (an unreadable event): an app's, as before v7
_UNKNOWN = _Resource("app", None, None, None)
_NOWHERE = _Resource("", None, None, None)  # no resource at all
Place = tuple[str | None, str | None]


def _created(event: LoggedEvent) -> tuple[str | None, str | None, Place]:
    """The name, team and place a resource was created with."""
    try:
        body = event.event
    except UnreadableEvent:
        return None, None, (None, None)  # the audit lists it all the same, with its metadata
    place = (getattr(body, "project", None), getattr(body, "environment", None))
    return getattr(body, "name", None), getattr(body, "team", None), place


def _place(event: LoggedEvent) -> Place:
    """Where an app.moved put its app; or a project event's project, and its environment when
    it is about one."""
    try:
        body = event.event
    except UnreadableEvent:
        return None, None
    return getattr(body, "project", None), getattr(body, "environment", None)


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    recorded_at: str
    actor: str
    type: str
    stream_id: str
    app: str | None  # the name its app had
    app_id: str | None
    correlation_id: str | None
    team: str | None
    source: str | None
    project: str | None = None  # where it happened: its resource's project then, or the project's
    environment: str | None = None  # ...and environment (None: the project as a whole)
    database: str | None = None  # the name its database had (its backups' and restores' too)
    database_id: str | None = None
    stack: str | None = None  # the name its stack had (its releases' too)
    stack_id: str | None = None


class AuditResource(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    name: str | None
    team: str | None
    project: str | None
    environment: str | None


class AuditQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which audit entries to read, newest first; every filter None takes all."""

    actor: str | None = None
    app_id: str | None = None
    type: str | None = None  # an event type, or a prefix ending in '*'
    since: str | None = None  # recorded at or after (as recorded_at is written)
    until: str | None = None  # recorded before
    before: int | None = None  # positions below this one: the next page
    teams: frozenset[str] | None = None  # None: every team's, and entries of no team
    instance: bool = False  # with `teams`: the entries of no team too
    projects: frozenset[tuple[str, str]] | None = None  # entries in these (team, project)...
    environment: str | None = None  # ...and in this environment of them
    # with `teams`: where the reader reads project by project (see Places), when not whole
    places: Places | None = None
    limit: int = 50


_ENTRY = f"SELECT {columns(AuditEntry)} FROM audit"
# the project an entry belongs to, as places.event_project says
_PROJECT = (
    "COALESCE((SELECT project FROM audit_resources r"
    " WHERE r.resource_id = COALESCE(audit.app_id, audit.database_id, audit.stack_id)),"
    f" CASE WHEN substr(stream_id, 1, {len(PROJECT_STREAM_PREFIX)}) = '{PROJECT_STREAM_PREFIX}'"
    " THEN substr(stream_id, instr(stream_id, '/') + 1) END)"
)


def _within(places: Places, instance: bool) -> tuple[str, list[object]]:
    """The clause taking the entries of what `places` reads (and with `instance`, of no
    team)."""
    teams = sorted(places.teams)
    either = [
        f"(team IN ({marks(teams)}) AND"
        f" ({_PROJECT} IS NULL OR (team, {_PROJECT}) NOT IN (VALUES {_pairs(places.hidden)})))",
        f"(team, {_PROJECT}) IN (VALUES {_pairs(places.projects)})",
    ]
    params: list[object] = [*teams]
    params += [v for pair in sorted(places.hidden) for v in pair] or [None, None]
    params += [v for pair in sorted(places.projects) for v in pair] or [None, None]
    if instance:
        either.append("team IS NULL")
    return f"({' OR '.join(either)})", params


def _pairs(pairs: frozenset[tuple[str, str]]) -> str:
    return ", ".join("(?, ?)" for _ in pairs) or "(?, ?)"  # (NULL, NULL) matches nothing


class AuditQueries(Queries):
    async def recent(self, limit: int = 50, teams: Iterable[str] | None = None) -> list[AuditEntry]:
        """The newest entries; with `teams`, only those recorded in one of them."""
        return await self.search(
            AuditQuery(limit=limit, teams=None if teams is None else frozenset(teams))
        )

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (("actor", query.actor), ("app_id", query.app_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.type is not None:
            if query.type.endswith("*"):
                clauses.append("substr(type, 1, ?) = ?")
                params += [len(query.type) - 1, query.type[:-1]]
            else:
                clauses.append("type = ?")
                params.append(query.type)
        for clause, bound in (
            ("recorded_at >= ?", query.since),
            ("recorded_at < ?", query.until),
            ("position < ?", query.before),
        ):
            if bound is not None:
                clauses.append(clause)
                params.append(bound)
        if query.places is not None and not query.places.whole():
            clause, values = _within(query.places, query.instance)
            clauses.append(clause)
            params += values
        elif query.teams is not None:
            wanted = sorted(query.teams)
            either = " OR team IS NULL" if query.instance else ""
            clauses.append(f"(team IN ({marks(wanted)}){either})")
            params += wanted
        if query.projects is not None:
            place, values = _in_place(query.projects, query.environment)
            clauses.append(place)
            params += values
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return await self._rows(
            AuditEntry, f"{_ENTRY}{where} ORDER BY position DESC LIMIT ?", [*params, query.limit]
        )

    async def positions_in(
        self, projects: frozenset[tuple[str, str]], environment: str | None = None
    ) -> frozenset[int]:
        """The positions of the entries made in these projects (and this environment)."""
        place, values = _in_place(projects, environment)
        rows = await self._values(f"SELECT position FROM audit WHERE {place}", values)
        return frozenset(int(row[0]) for row in rows)

    async def at(self, position: int) -> AuditEntry | None:
        return await self._row(AuditEntry, f"{_ENTRY} WHERE position = ?", (position,))

    async def resource_projects(self) -> dict[str, str]:
        """resource id -> the project each app, database or stack is in now (or was in when
        deleted)."""
        rows = await self._values(
            "SELECT resource_id, project FROM audit_resources WHERE project IS NOT NULL", ()
        )
        return {row["resource_id"]: row["project"] for row in rows}

    async def first_since(self, recorded_at: str) -> int | None:
        """The position of the first entry recorded at or after `recorded_at` (ISO 8601)."""
        rows = await self._values(
            "SELECT MIN(position) FROM audit WHERE recorded_at >= ?", (recorded_at,)
        )
        found = rows[0][0] if rows else None
        return int(found) if found is not None else None

    async def last_type(self, types: Iterable[str], before: int) -> str | None:
        """The type of the last entry before `before` that is one of `types`."""
        chosen = list(types)
        rows = await self._values(
            f"SELECT type FROM audit WHERE type IN ({', '.join('?' for _ in chosen)})"
            " AND position < ? ORDER BY position DESC LIMIT 1",
            (*chosen, before),
        )
        return str(rows[0][0]) if rows else None

    async def resource(self, resource_id: str) -> AuditResource | None:
        """An app's, a database's or a stack's kind, name, team and place now."""
        return await self._row(
            AuditResource,
            f"SELECT {columns(AuditResource)} FROM audit_resources WHERE resource_id = ?",
            (resource_id,),
        )

    async def place_of(self, resource_id: str) -> tuple[str | None, str | None]:
        """The team an app, a database or a stack was created in and the project it is in now
        (deleted since or not)."""
        rows = await self._values(
            "SELECT team, project FROM audit_resources WHERE resource_id = ?", (resource_id,)
        )
        return (rows[0]["team"], rows[0]["project"]) if rows else (None, None)


def _in_place(
    projects: frozenset[tuple[str, str]], environment: str | None
) -> tuple[str, list[object]]:
    """The clause taking the entries made in `projects` (and `environment`), and its values."""
    pairs = sorted(projects)
    clause = f"(team, project) IN (VALUES {', '.join(['(?, ?)'] * len(pairs))})"
    values: list[object] = [value for pair in pairs for value in pair]
    if not pairs:
        clause = "0"
    if environment is not None:  # and the events of the project as a whole
        clause += " AND (environment = ? OR environment IS NULL)"
        values.append(environment)
    return clause, values
