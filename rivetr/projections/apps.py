"""The apps view: every live application, by its id, with its current settings (env values and
build arguments never stored, only their names), and the queries that read it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppGitCredentialsChanged,
    AppMoved,
    AppSettingsChanged,
    ImageBuilt,
    WebhookDisabled,
    WebhookSecretSet,
)
from rivetr.domain.git_credentials import git_auth
from rivetr.domain.health import port_mismatch
from rivetr.domain.scale_events import AppScaled, Scale
from rivetr.domain.settings import BuildSettings, HealthCheck, Resources
from rivetr.projections.base import tags
from rivetr.projections.reading import Queries, columns, marks

_json = msgspec.json.encode
UNSET = msgspec.UNSET
_ONE_COPY = _json(Scale())

_COLUMNS = (
    "id",
    "name",
    "stream_id",
    "git_url",
    "branch",
    "build",
    "port",
    "domains",
    "health",
    "resources",
    "env_names",
    "git_auth",
    "created_at",
    "created_by",
    "updated_at",
    "version",
    "team",
    "watch_paths",
    "previews",
    "webhook",
    "preview_of",
    "pr_number",
    "build_args",
    "previews_from_forks",
    "image_ports",
    "port_warning",
    "project",
    "environment",
    "scale",
)
_CHUNK = 500  # ids per IN (...) query, well under SQLite's parameter limit
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM apps WHERE id = ?"
_UPDATE = f"UPDATE apps SET {', '.join(f'{c} = ?' for c in _COLUMNS[1:])} WHERE id = ?"
_INSERT = (
    f"INSERT OR REPLACE INTO apps ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_ENV_NAMES, _GIT_AUTH, _UPDATED_AT, _VERSION, _WEBHOOK, _BUILD, _BUILD_ARGS = (
    _COLUMNS.index(c)
    for c in ("env_names", "git_auth", "updated_at", "version", "webhook", "build", "build_args")
)
_PORT, _IMAGE_PORTS, _PORT_WARNING, _PROJECT, _ENVIRONMENT, _SCALE = (
    _COLUMNS.index(c)
    for c in ("port", "image_ports", "port_warning", "project", "environment", "scale")
)
_AS_JSON = ("build", "domains", "health", "resources", "watch_paths")
# the settings an AppSettingsChanged may carry: (column index, field, stored as JSON?)
_SETTINGS = [
    (_COLUMNS.index(field), field, field in _AS_JSON)
    for field in (
        "git_url",
        "branch",
        "build",
        "port",
        "domains",
        "health",
        "resources",
        "watch_paths",
        "previews",
        "previews_from_forks",
    )
]


class AppsProjection:
    name = "apps"
    # v2: git_auth, resources; v3: team; v4: watch_paths, previews, webhook; v5: by id, and
    # build arguments by name only; v6: previews_from_forks; v7: the ports of the last image
    # built, and the warning when the app's port is not among them; v8: its project and
    # environment; v9: its copies and their placement (`app.scaled`)
    version = 9
    handles: frozenset[str] | None = tags(
        ImageBuilt,
        AppCreated,
        AppSettingsChanged,
        AppEnvChanged,
        AppGitCredentialsChanged,
        AppDeleted,
        AppMoved,
        AppScaled,
        WebhookSecretSet,
        WebhookDisabled,
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS apps (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                git_url TEXT,
                branch TEXT NOT NULL,
                build TEXT NOT NULL,
                port INTEGER NOT NULL,
                domains TEXT NOT NULL,
                health TEXT NOT NULL,
                resources TEXT NOT NULL,
                env_names TEXT NOT NULL,
                git_auth TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                version INTEGER NOT NULL,
                team TEXT NOT NULL,
                watch_paths TEXT NOT NULL,
                previews INTEGER NOT NULL,
                webhook INTEGER NOT NULL,
                preview_of TEXT,
                pr_number INTEGER,
                build_args TEXT NOT NULL,
                previews_from_forks INTEGER NOT NULL,
                image_ports TEXT,
                port_warning TEXT,
                project TEXT NOT NULL,
                environment TEXT NOT NULL,
                scale TEXT NOT NULL
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS apps_by_name ON apps (name)")
        conn.execute(
            "CREATE INDEX IF NOT EXISTS apps_by_place ON apps (team, project, environment)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS apps_by_stream ON apps (stream_id)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS apps")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        """Fold the events into the rows they touch, in memory, then write each row once: the
        same end state as one statement per event, with far fewer statements in a rebuild."""
        # id -> its row as it stands (None: no row), loaded with one query for the apps the
        # batch's events name rather than one query per app
        rows = dict(_stored_rows(conn, {e.resource for e in events}))
        stored = {app_id for app_id, row in rows.items() if row is not None}  # before the batch
        env: dict[str, set[str]] = {}  # env names changed in this batch, JSON-encoded at the end
        live_on: dict[str, str | None] = {}  # stream -> its live app, for older events

        def row_of(app_id: str | None) -> list[Any] | None:
            if app_id is None:
                return None
            if app_id in rows:
                return rows[app_id]
            found = conn.execute(_SELECT, (app_id,)).fetchone()
            if found is None:
                rows[app_id] = None
                return None
            stored.add(app_id)
            row = rows[app_id] = list(found)
            return row

        def app_of(event: LoggedEvent) -> str | None:
            """The app an event concerns: recorded with it, or (an older event) the app live
            on its stream."""
            if event.resource is not None:
                return event.resource
            stream = event.stream_id
            if stream not in live_on:
                found = conn.execute("SELECT id FROM apps WHERE stream_id = ?", (stream,))
                live_on[stream] = next((app_id for (app_id,) in found), None)
            return live_on[stream]

        for event in events:
            body = event.event
            # the most frequent events first; a change to a missing row changes nothing
            if isinstance(body, AppSettingsChanged):
                if (row := row_of(app_of(event))) is not None:
                    for index, field, as_json in _SETTINGS:
                        value = getattr(body, field)
                        if value is not UNSET:
                            row[index] = _json(value) if as_json else value
                    if body.build is not UNSET:
                        row[_BUILD] = _json(_without_values(body.build))
                        row[_BUILD_ARGS] = _json(sorted(body.build.build_args))
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppEnvChanged):
                app_id = app_of(event)
                if (row := row_of(app_id)) is not None and app_id is not None:
                    names = env.get(app_id)
                    if names is None:
                        names = set(msgspec.json.decode(row[_ENV_NAMES]))
                    env[app_id] = (names - set(body.unset)) | set(body.set)
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppCreated):
                app_id = body.app_id
                row_of(app_id)
                env.pop(app_id, None)
                live_on[event.stream_id] = app_id
                rows[app_id] = [
                    app_id,
                    body.name,
                    event.stream_id,
                    body.git_url,
                    body.branch,
                    _json(_without_values(body.build)),
                    body.port,
                    _json(body.domains),
                    _json(body.health),
                    _json(body.resources),
                    _json(sorted(body.env)),
                    b"[]",
                    event.recorded_at,
                    event.actor,
                    event.recorded_at,
                    event.version,
                    body.team,
                    _json(body.watch_paths),
                    body.previews,
                    False,
                    body.preview_of,
                    body.pr_number,
                    _json(sorted(body.build.build_args)),
                    body.previews_from_forks,
                    None,
                    None,
                    body.project,
                    body.environment,
                    _ONE_COPY,
                ]
            elif isinstance(body, ImageBuilt):
                # a fact about the app's image, not a change of its settings: no new version
                if body.exposed_ports is not None and (row := row_of(app_of(event))) is not None:
                    row[_IMAGE_PORTS] = _json(body.exposed_ports)
            elif isinstance(body, AppMoved):
                if (row := row_of(app_of(event))) is not None:
                    row[_PROJECT], row[_ENVIRONMENT] = body.project, body.environment
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppScaled):
                if (row := row_of(app_of(event))) is not None:
                    row[_SCALE] = _json(body.scale)
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppGitCredentialsChanged):
                if (row := row_of(app_of(event))) is not None:
                    row[_GIT_AUTH] = _json(git_auth(body.token, body.deploy_key))
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, WebhookSecretSet | WebhookDisabled):
                if (row := row_of(app_of(event))) is not None:
                    row[_WEBHOOK] = isinstance(body, WebhookSecretSet)
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppDeleted):
                app_id = app_of(event)
                if app_id is not None:
                    row_of(app_id)
                    env.pop(app_id, None)
                    rows[app_id] = None
                live_on[event.stream_id] = None
        for app_id, names in env.items():
            row = rows[app_id]
            assert row is not None
            row[_ENV_NAMES] = _json(sorted(names))
        for row in rows.values():
            if row is not None:
                ports = row[_IMAGE_PORTS]
                exposed = msgspec.json.decode(ports, type=list[int]) if ports else None
                row[_PORT_WARNING] = port_mismatch(exposed, row[_PORT])
        updates, inserts, deletes = [], [], []
        for app_id, row in rows.items():
            if row is None:
                if app_id in stored:
                    deletes.append((app_id,))
            elif app_id in stored:
                updates.append((*row[1:], app_id))
            else:
                inserts.append(row)
        if deletes:
            conn.executemany("DELETE FROM apps WHERE id = ?", deletes)
        if updates:
            conn.executemany(_UPDATE, updates)
        if inserts:
            conn.executemany(_INSERT, inserts)


def _without_values(build: BuildSettings) -> BuildSettings:
    """Build settings as the view keeps them: build arguments are sealed like env values, and
    only their names are shown (the `build_args` column)."""
    return msgspec.structs.replace(build, build_args={})


def _stored_rows(
    conn: sqlite3.Connection, app_ids: set[str | None]
) -> Iterator[tuple[str, list[Any] | None]]:
    """Each id with its stored row, or None when it has none."""
    wanted = sorted(app_id for app_id in app_ids if app_id is not None)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        found = {
            row[0]: list(row)
            for row in conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM apps WHERE id IN ({marks})", chunk
            )
        }
        for app_id in chunk:
            yield app_id, found.get(app_id)


class AppView(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # its own, never shared with a later app of the same name
    name: str
    git_url: str | None
    branch: str
    build: BuildSettings  # build_args empty here: see `build_args`
    port: int
    domains: list[str]
    health: HealthCheck
    resources: Resources
    env: list[str]  # names only: values are write-only through the API
    git_auth: list[str]  # "deploy_key", "token": which credentials are set, never their values
    created_at: str
    created_by: str
    updated_at: str
    version: int
    team: str
    watch_paths: list[str]  # globs: a webhook push deploys only if a changed file matches
    previews: bool  # pull requests deploy as preview apps
    previews_from_forks: bool  # those from forks too: without secrets, each head once approved
    webhook: bool  # a webhook secret is set (never shown after it is made)
    preview_of: str | None  # a preview app: its parent...
    pr_number: int | None  # ...and pull request
    build_args: list[str]  # names only: values are write-only, like env values
    # the app's port is not one its last built image listens on: "the image listens on 8080;
    # the app is set to 3000" (None: it is, or no image said)
    port_warning: str | None = None
    project: str = "default"  # where it lives: a project of its team...
    environment: str = "production"  # ...and one of that project's environments
    scale: Scale = msgspec.field(default_factory=Scale)  # how many copies, on which servers


_APP = f"SELECT {columns(AppView, env='env_names')} FROM apps"


class AppQueries(Queries):
    async def every(self, teams: Iterable[str] | None = None) -> list[AppView]:
        """Every app, or only those of `teams`."""
        if teams is None:
            return await self._rows(AppView, f"{_APP} ORDER BY name")
        wanted = sorted(teams)
        return await self._rows(
            AppView, f"{_APP} WHERE team IN ({marks(wanted)}) ORDER BY name", wanted
        )

    async def count(self) -> int:
        [row] = await self._values("SELECT COUNT(*) FROM apps")
        return int(row[0])

    async def count_in(self, team: str) -> int:
        [row] = await self._values("SELECT COUNT(*) FROM apps WHERE team = ?", (team,))
        return int(row[0])

    async def previews_of(self, name: str) -> list[AppView]:
        """The preview apps of the app named `name`, by name."""
        return await self._rows(AppView, f"{_APP} WHERE preview_of = ? ORDER BY name", (name,))

    async def placed(
        self, team: str, project: str, environment: str | None = None
    ) -> list[AppView]:
        """The apps of a project, or of one of its environments, by name."""
        if environment is None:
            return await self._rows(
                AppView,
                f"{_APP} WHERE team = ? AND project = ? ORDER BY name",
                (team, project),
            )
        return await self._rows(
            AppView,
            f"{_APP} WHERE team = ? AND project = ? AND environment = ? ORDER BY name",
            (team, project, environment),
        )

    async def named(self, name: str) -> AppView | None:
        """The live app named `name`."""
        return await self._row(
            AppView, f"{_APP} WHERE name = ? ORDER BY created_at DESC LIMIT 1", (name,)
        )

    async def by_id(self, app_id: str) -> AppView | None:
        return await self._row(AppView, f"{_APP} WHERE id = ?", (app_id,))

    async def id_named(self, name: str) -> str | None:
        app = await self.named(name)
        return app.id if app is not None else None
