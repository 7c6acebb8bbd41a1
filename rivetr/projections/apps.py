"""The apps view: every live application with its current settings (env values never stored)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.application import git_auth
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppGitCredentialsChanged,
    AppSettingsChanged,
    WebhookDisabled,
    WebhookSecretSet,
)
from rivetr.projections.base import app_name_of

_json = msgspec.json.encode
UNSET = msgspec.UNSET

_COLUMNS = (
    "name",
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
    "previews_from_forks",
)
_CHUNK = 500  # names per IN (...) query, well under SQLite's parameter limit
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM apps WHERE name = ?"
_UPDATE = f"UPDATE apps SET {', '.join(f'{c} = ?' for c in _COLUMNS[1:])} WHERE name = ?"
_INSERT = (
    f"INSERT OR REPLACE INTO apps ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_ENV_NAMES, _GIT_AUTH, _UPDATED_AT, _VERSION, _WEBHOOK = (
    _COLUMNS.index(c) for c in ("env_names", "git_auth", "updated_at", "version", "webhook")
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
    # v2: git_auth, resources; v3: team; v4: watch_paths, previews, webhook;
    # v5: previews_from_forks
    version = 5
    handles: frozenset[str] | None = frozenset(
        {
            "app.created",
            "app.settings_changed",
            "app.env_changed",
            "app.git_credentials_changed",
            "app.deleted",
            "app.webhook_secret_set",
            "app.webhook_disabled",
        }
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS apps (
                name TEXT PRIMARY KEY,
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
                previews_from_forks INTEGER NOT NULL
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS apps")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        """Fold the events into the rows they touch, in memory, then write each row once: the
        same end state as one statement per event, with far fewer statements in a rebuild."""
        # name -> its row as it stands (None: no row), loaded with one query for the apps the
        # batch's streams name rather than one query per app
        rows = dict(_stored_rows(conn, {app_name_of(e.stream_id) for e in events}))
        stored = {name for name, row in rows.items() if row is not None}  # rows before the batch
        env: dict[str, set[str]] = {}  # env names changed in this batch, JSON-encoded at the end

        def row_of(name: str) -> list[Any] | None:
            if name in rows:
                return rows[name]
            found = conn.execute(_SELECT, (name,)).fetchone()
            if found is None:
                rows[name] = None
                return None
            stored.add(name)
            row = rows[name] = list(found)
            return row

        for event in events:
            body = event.event
            # the most frequent events first; a change to a missing row changes nothing
            if isinstance(body, AppSettingsChanged):
                if (row := row_of(body.name)) is not None:
                    for index, field, as_json in _SETTINGS:
                        value = getattr(body, field)
                        if value is not UNSET:
                            row[index] = _json(value) if as_json else value
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppEnvChanged):
                name = body.name
                if (row := row_of(name)) is not None:
                    names = env.get(name)
                    if names is None:
                        names = set(msgspec.json.decode(row[_ENV_NAMES]))
                    env[name] = (names - set(body.unset)) | set(body.set)
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppCreated):
                name = body.name
                row_of(name)
                env.pop(name, None)
                rows[name] = [
                    name,
                    body.git_url,
                    body.branch,
                    _json(body.build),
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
                    body.previews_from_forks,
                ]
            elif isinstance(body, AppGitCredentialsChanged):
                if (row := row_of(body.name)) is not None:
                    row[_GIT_AUTH] = _json(git_auth(body.token, body.deploy_key))
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, WebhookSecretSet | WebhookDisabled):
                if (row := row_of(body.name)) is not None:
                    row[_WEBHOOK] = isinstance(body, WebhookSecretSet)
                    row[_UPDATED_AT] = event.recorded_at
                    row[_VERSION] = event.version
            elif isinstance(body, AppDeleted):
                row_of(body.name)
                env.pop(body.name, None)
                rows[body.name] = None
        for name, names in env.items():
            row = rows[name]
            assert row is not None
            row[_ENV_NAMES] = _json(sorted(names))
        updates, inserts, deletes = [], [], []
        for name, row in rows.items():
            if row is None:
                if name in stored:
                    deletes.append((name,))
            elif name in stored:
                updates.append((*row[1:], name))
            else:
                inserts.append(row)
        if deletes:
            conn.executemany("DELETE FROM apps WHERE name = ?", deletes)
        if updates:
            conn.executemany(_UPDATE, updates)
        if inserts:
            conn.executemany(_INSERT, inserts)


def _stored_rows(
    conn: sqlite3.Connection, names: set[str | None]
) -> Iterator[tuple[str, list[Any] | None]]:
    """Each name with its stored row, or None when it has none."""
    wanted = sorted(name for name in names if name is not None)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        found = {
            row[0]: list(row)
            for row in conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM apps WHERE name IN ({marks})", chunk
            )
        }
        for name in chunk:
            yield name, found.get(name)
