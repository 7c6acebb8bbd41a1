"""The audit view: who did what, when, to which stream and app (by id, with the name it had), for
every event in the log; and the queries that read it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.codec import UnreadableEvent
from rivetr.domain.events import AppCreated, AppMoved
from rivetr.domain.places import PROJECT_STREAM_PREFIX, Places
from rivetr.projections.base import drop_legacy_tables, tag
from rivetr.projections.reading import Queries, columns, marks

_APP_CREATED = tag(AppCreated)
_APP_MOVED = tag(AppMoved)


class AuditProjection:
    name = "audit"
    # v2: team, source; v3: the app of deployment, certificate and webhook events; v4: the
    # app by id (the resource recorded with the event), and its name; v5: the app and team as
    # the store reads them (filled in for an older log's events); v6: each app's project now
    version = 6
    handles: frozenset[str] | None = None
    # apply only inserts by position: these serve the readers (see base.reader_indexes)
    reader_indexes = ("audit_by_actor", "audit_by_app", "audit_by_time")

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
                source TEXT
            )"""
        )
        # each app's name and team, from its creation: an entry shows the name its app had;
        # and the project it is in now, whose readers read its entries
        conn.execute(
            "CREATE TABLE IF NOT EXISTS audit_apps"
            " (app_id TEXT PRIMARY KEY, name TEXT, team TEXT, project TEXT)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_app ON audit (app_id, position)")
        conn.execute("CREATE INDEX IF NOT EXISTS audit_by_time ON audit (recorded_at)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS audit")
        conn.execute("DROP TABLE IF EXISTS audit_apps")
        drop_legacy_tables(conn, "audit")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        apps: dict[str, str | None] = {}  # id -> name

        def app_named(app_id: str | None) -> str | None:
            if app_id is None:
                return None
            if app_id not in apps:
                row = conn.execute(
                    "SELECT name FROM audit_apps WHERE app_id = ?", (app_id,)
                ).fetchone()
                apps[app_id] = row[0] if row else None
            return apps[app_id]

        rows = []
        for event in events:
            app_id = event.resource
            if event.type == _APP_CREATED and app_id is not None:
                name, team, project = _created(event)
                apps[app_id] = name
                conn.execute(
                    "INSERT OR REPLACE INTO audit_apps VALUES (?, ?, ?, ?)",
                    (app_id, name, team, project),
                )
            elif event.type == _APP_MOVED and app_id is not None:
                conn.execute(
                    "UPDATE audit_apps SET project = ? WHERE app_id = ?",
                    (_moved_to(event), app_id),
                )
            name = app_named(app_id)
            rows.append(
                (
                    event.position,
                    event.recorded_at,
                    event.actor,
                    event.type,
                    event.stream_id,
                    name,
                    app_id,
                    event.correlation_id,
                    event.team,
                    event.source,
                )
            )
        conn.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _created(event: LoggedEvent) -> tuple[str | None, str | None, str | None]:
    """The name, team and project an app was created with."""
    try:
        body = event.event
    except UnreadableEvent:
        return None, None, None  # the audit lists it all the same, with its stream and metadata
    return getattr(body, "name", None), getattr(body, "team", None), getattr(body, "project", None)


def _moved_to(event: LoggedEvent) -> str | None:
    try:
        return getattr(event.event, "project", None)
    except UnreadableEvent:
        return None


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
    # with `teams`: where the reader reads project by project (see Places), when not whole
    places: Places | None = None
    limit: int = 50


_ENTRY = f"SELECT {columns(AuditEntry)} FROM audit"
# the project an entry belongs to, as places.event_project says
_PROJECT = (
    "COALESCE((SELECT project FROM audit_apps p WHERE p.app_id = audit.app_id),"
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
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return await self._rows(
            AuditEntry, f"{_ENTRY}{where} ORDER BY position DESC LIMIT ?", [*params, query.limit]
        )

    async def at(self, position: int) -> AuditEntry | None:
        return await self._row(AuditEntry, f"{_ENTRY} WHERE position = ?", (position,))

    async def app_projects(self) -> dict[str, str]:
        """app id -> the project each app is in now (or was in when deleted)."""
        rows = await self._values(
            "SELECT app_id, project FROM audit_apps WHERE project IS NOT NULL", ()
        )
        return {row["app_id"]: row["project"] for row in rows}

    async def place_of_app(self, app_id: str) -> tuple[str | None, str | None]:
        """The team an app was created in and the project it is in now (deleted since or
        not)."""
        rows = await self._values(
            "SELECT team, project FROM audit_apps WHERE app_id = ?", (app_id,)
        )
        return (rows[0]["team"], rows[0]["project"]) if rows else (None, None)

    async def team_of_app(self, app_id: str) -> str | None:
        """The team an app was created in (deleted since or not)."""
        rows = await self._values("SELECT team FROM audit_apps WHERE app_id = ?", (app_id,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None
