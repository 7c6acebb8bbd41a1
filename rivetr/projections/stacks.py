"""The stacks view: each compose stack with its source, routes, the names of its variables
and which git credentials it has (never a value) and the release that serves; every release
with each service's image, container and readiness; and each release's steps, service by
service, as a timeline."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import TeamDeleted
from rivetr.domain.git_credentials import git_auth
from rivetr.domain.replica_events import Member
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackCreated,
    StackDeleted,
    StackGitCredentialsChanged,
    StackReleaseFailed,
    StackReleaseRequested,
    StackReleaseRetired,
    StackReleaseSuperseded,
    StackRoute,
    StackServiceBalanced,
    StackServiceImageReady,
    StackServiceOnServers,
    StackServiceReady,
    StackServiceStarted,
    StackSettingsChanged,
    StackSourceFetched,
    StackSwitched,
    StackVariablesChanged,
    StackWebhookDisabled,
    StackWebhookSecretSet,
)
from rivetr.projections.base import tags, update_row
from rivetr.projections.reading import Queries, columns, marks

_json = msgspec.json.encode


class StackView(msgspec.Struct, frozen=True, kw_only=True):
    stack_id: str
    name: str
    team: str
    project: str
    environment: str
    git_url: str | None
    branch: str
    compose_path: str
    inline: bool  # the compose file is given inline (the text is in the log, not here)
    routes: list[StackRoute]
    variables: list[str]  # names only
    template: str | None
    watch_paths: list[str]
    created_at: str
    created_by: str
    live_release_id: str | None
    last_release_id: str | None
    last_status: str | None
    webhook: bool  # a git host's pushes deploy it (a secret is set; never shown here)
    git_auth: list[str]  # "deploy_key", "token": which credentials are set, never their values


class StackReleaseView(msgspec.Struct, frozen=True, kw_only=True):
    release_id: str
    stack_id: str
    status: str
    trigger: str
    commit: str | None
    commit_sha: str | None
    rollback_of: str | None
    waves: list[list[str]]
    warnings: list[str]
    failed_step: str | None
    failed_service: str | None
    failure: str | None
    requested_at: str
    requested_by: str
    finished_at: str | None


class StackServiceView(msgspec.Struct, frozen=True, kw_only=True):
    release_id: str
    service: str
    image: str | None
    built: bool
    container: str | None
    mode: str | None
    host_ports: dict[int, int]
    ready: bool
    on_servers: bool  # its swarm service's name is `container`
    members: dict[int, list[Member]]  # on servers: each routed port's copies


class StackStepView(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a release: of one service, or (service None) of the whole release."""

    release_id: str
    service: str | None
    step: str  # the event's type without its `stack_release.` prefix
    line: str
    at: str


_RELEASE_STATUS = {
    "stack_release.source_fetched": "source_fetched",
    "stack_release.compose_read": "read",
    "stack_release.service_started": "starting",
    "stack_release.service_on_servers": "starting",
    "stack_release.switched": "live",
    "stack_release.failed": "failed",
    "stack_release.superseded": "superseded",
    "stack_release.retired": "retired",
}
_FINISHING = frozenset({"live", "failed"})


class StacksProjection:
    name = "stacks"
    # v2: whether its webhook is on; v3: which git credentials it has; v4: services on servers
    version = 4
    handles: frozenset[str] | None = tags(
        StackCreated,
        StackSettingsChanged,
        StackVariablesChanged,
        StackWebhookSecretSet,
        StackWebhookDisabled,
        StackGitCredentialsChanged,
        StackDeleted,
        StackReleaseRequested,
        StackSourceFetched,
        StackComposeRead,
        StackServiceImageReady,
        StackServiceStarted,
        StackServiceOnServers,
        StackServiceBalanced,
        StackServiceReady,
        StackSwitched,
        StackReleaseFailed,
        StackReleaseSuperseded,
        StackReleaseRetired,
        TeamDeleted,
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS stacks (
                stack_id TEXT PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL,
                project TEXT NOT NULL, environment TEXT NOT NULL, git_url TEXT,
                branch TEXT NOT NULL, compose_path TEXT NOT NULL, inline INTEGER NOT NULL,
                routes TEXT NOT NULL, variables TEXT NOT NULL, template TEXT,
                watch_paths TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
                live_release_id TEXT, last_release_id TEXT, last_status TEXT,
                webhook INTEGER NOT NULL DEFAULT 0, git_auth TEXT NOT NULL DEFAULT '[]'
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS stack_releases (
                release_id TEXT PRIMARY KEY, stack_id TEXT NOT NULL, team TEXT NOT NULL,
                status TEXT NOT NULL, trigger TEXT NOT NULL, "commit" TEXT, commit_sha TEXT,
                rollback_of TEXT, waves TEXT NOT NULL DEFAULT '[]',
                warnings TEXT NOT NULL DEFAULT '[]', failed_step TEXT, failed_service TEXT,
                failure TEXT, requested_at TEXT NOT NULL, requested_by TEXT NOT NULL,
                finished_at TEXT
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS stack_releases_of ON stack_releases (stack_id)")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS stack_services (
                release_id TEXT NOT NULL, service TEXT NOT NULL, image TEXT,
                built INTEGER NOT NULL DEFAULT 0, container TEXT, mode TEXT,
                host_ports TEXT NOT NULL DEFAULT '{}',
                ready INTEGER NOT NULL DEFAULT 0, on_servers INTEGER NOT NULL DEFAULT 0,
                members TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (release_id, service)
            )"""
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS stack_steps (
                release_id TEXT NOT NULL, service TEXT, step TEXT NOT NULL, line TEXT NOT NULL,
                at TEXT NOT NULL
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS stack_steps_of ON stack_steps (release_id)")

    def drop(self, conn: sqlite3.Connection) -> None:
        for table in ("stacks", "stack_releases", "stack_services", "stack_steps"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        match body:
            case StackCreated():
                _created(conn, body, event)
            case StackSettingsChanged():
                _settings(conn, body)
            case StackVariablesChanged():
                names = _json(sorted(body.variables)).decode()
                update_row(conn, "stacks", "stack_id", body.stack_id, {"variables": names})
            case StackWebhookSecretSet() | StackWebhookDisabled():
                on = isinstance(body, StackWebhookSecretSet)
                update_row(conn, "stacks", "stack_id", body.stack_id, {"webhook": on})
            case StackGitCredentialsChanged():
                held = _json(git_auth(body.token, body.deploy_key)).decode()
                update_row(conn, "stacks", "stack_id", body.stack_id, {"git_auth": held})
            case StackDeleted():
                # its releases stay, so that their containers can be found and retired
                conn.execute("DELETE FROM stacks WHERE stack_id = ?", (body.stack_id,))
            case TeamDeleted():
                _forget(conn, "team = ?", body.team)
            case StackReleaseRequested():
                _requested(conn, body, event)
            case _:
                _release_step(conn, body, event)


def _created(conn: sqlite3.Connection, body: StackCreated, event: LoggedEvent) -> None:
    conn.execute(
        """INSERT OR REPLACE INTO stacks (stack_id, name, team, project, environment, git_url,
            branch, compose_path, inline, routes, variables, template, watch_paths, created_at,
            created_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            body.stack_id,
            body.name,
            body.team,
            body.project,
            body.environment,
            body.git_url,
            body.branch,
            body.compose_path,
            body.compose is not None,
            _json(body.routes).decode(),
            _json(sorted(body.variables)).decode(),
            body.template,
            _json(body.watch_paths).decode(),
            event.recorded_at,
            event.actor,
        ),
    )


def _settings(conn: sqlite3.Connection, body: StackSettingsChanged) -> None:
    changes: dict[str, object] = {}
    for field in ("git_url", "branch", "compose_path"):
        value = getattr(body, field)
        if value is not msgspec.UNSET:
            changes[field] = value
    if body.compose is not msgspec.UNSET:
        changes["inline"] = body.compose is not None
    for field in ("routes", "watch_paths"):
        value = getattr(body, field)
        if value is not msgspec.UNSET:
            changes[field] = _json(value).decode()
    update_row(conn, "stacks", "stack_id", body.stack_id, changes)


def _forget(conn: sqlite3.Connection, where: str, value: str) -> None:
    """A stack (or a team's every stack) and its releases, gone from the view (the log keeps
    them, and the audit history shows them)."""
    releases = f"SELECT release_id FROM stack_releases WHERE {where}"
    for table in ("stack_services", "stack_steps"):
        conn.execute(f"DELETE FROM {table} WHERE release_id IN ({releases})", (value,))
    conn.execute(f"DELETE FROM stack_releases WHERE {where}", (value,))
    conn.execute(f"DELETE FROM stacks WHERE {where}", (value,))


def _requested(conn: sqlite3.Connection, body: StackReleaseRequested, event: LoggedEvent) -> None:
    found = conn.execute("SELECT team FROM stacks WHERE stack_id = ?", (body.stack_id,)).fetchone()
    if found is None:
        return  # a release of a stack already deleted
    conn.execute(
        """INSERT OR REPLACE INTO stack_releases (release_id, stack_id, team, status, trigger,
            "commit", rollback_of, requested_at, requested_by)
        VALUES (?, ?, ?, 'requested', ?, ?, ?, ?, ?)""",
        (
            body.release_id,
            body.stack_id,
            found[0],
            body.trigger,
            body.commit,
            body.rollback_of,
            event.recorded_at,
            event.actor,
        ),
    )
    what = f"rollback to {body.rollback_of}" if body.rollback_of else body.trigger
    _step(conn, body.release_id, None, event, f"requested ({what})")
    update_row(
        conn,
        "stacks",
        "stack_id",
        body.stack_id,
        {"last_release_id": body.release_id, "last_status": "requested"},
    )


def _release_step(conn: sqlite3.Connection, body: object, event: LoggedEvent) -> None:
    release_id = getattr(body, "release_id", None)
    if release_id is None:
        return
    found = conn.execute(
        "SELECT stack_id FROM stack_releases WHERE release_id = ?", (release_id,)
    ).fetchone()
    if found is None:
        return
    changes: dict[str, object] = {}
    service: str | None = None
    match body:
        case StackSourceFetched():
            changes["commit_sha"] = body.commit_sha
            line = f"source at {body.commit_sha[:12]}" if body.commit_sha else "inline compose"
        case StackComposeRead():
            changes["waves"] = _json(body.waves).decode()
            changes["warnings"] = _json(body.warnings).decode()
            for name in (name for wave in body.waves for name in wave):
                conn.execute(
                    "INSERT OR IGNORE INTO stack_services (release_id, service) VALUES (?, ?)",
                    (release_id, name),
                )
            line = " then ".join(", ".join(wave) for wave in body.waves)
        case StackServiceImageReady():
            service = body.service
            _service(conn, release_id, service, image=body.image, built=body.built)
            line = f"{'built' if body.built else 'image'} {body.image[:19]}"
        case StackServiceStarted():
            service = body.service
            _service(
                conn,
                release_id,
                service,
                container=body.container,
                mode=body.mode,
                host_ports=_json(body.host_ports).decode(),
            )
            line = f"started ({body.mode}) as {body.container}"
        case StackServiceOnServers():
            service = body.service
            _service(
                conn,
                release_id,
                service,
                container=body.service_name,
                mode=body.mode,
                on_servers=True,
            )
            copies = (
                "one copy on each server"
                if body.replicas is None
                else (f"{body.replicas} {'copy' if body.replicas == 1 else 'copies'}")
            )
            where = f" ({body.placement})" if body.placement else ""
            line = f"on servers ({body.mode}): {copies} as {body.service_name}{where}"
        case StackServiceBalanced():
            service = body.service
            _service(conn, release_id, service, members=_json(body.members).decode())
            line = body.changed or _copies(body.members)
        case StackServiceReady():
            service = body.service
            _service(conn, release_id, service, ready=True)
            line = "ready"
        case StackReleaseFailed():
            service = body.service
            changes |= {
                "failed_step": body.step,
                "failed_service": body.service,
                "failure": body.reason,
            }
            line = f"{body.step} failed: {body.reason}"
        case StackSwitched():
            line = "every route switched"
            conn.execute(
                "UPDATE stacks SET live_release_id = ? WHERE stack_id = ?", (release_id, found[0])
            )
        case StackReleaseSuperseded():
            line = f"superseded by {body.by}"
        case StackReleaseRetired():
            line = "retired"
        case _:
            return
    status = _RELEASE_STATUS.get(event.type)
    if status is not None:
        changes["status"] = status
        if status in _FINISHING:
            changes["finished_at"] = event.recorded_at
        conn.execute(
            "UPDATE stacks SET last_status = ? WHERE stack_id = ? AND last_release_id = ?",
            (status, found[0], release_id),
        )
    if changes:
        update_row(conn, "stack_releases", "release_id", release_id, changes)
    _step(conn, release_id, service, event, line)


def _copies(members: dict[int, list[Member]]) -> str:
    where = sorted({f"{m.address}:{m.port}" for found in members.values() for m in found})
    return f"copies at {', '.join(where)}" if where else "copies running (no route reaches them)"


def _service(conn: sqlite3.Connection, release_id: str, service: str, **changes: object) -> None:
    assignments = ", ".join(f"{column} = ?" for column in changes)
    conn.execute(
        f"UPDATE stack_services SET {assignments} WHERE release_id = ? AND service = ?",
        (*changes.values(), release_id, service),
    )


def _step(
    conn: sqlite3.Connection,
    release_id: str,
    service: str | None,
    event: LoggedEvent,
    line: str,
) -> None:
    conn.execute(
        "INSERT INTO stack_steps VALUES (?, ?, ?, ?, ?)",
        (release_id, service, event.type.removeprefix("stack_release."), line, event.recorded_at),
    )


class StackQueries(Queries):
    async def every(self, teams: Iterable[str] | None = None) -> list[StackView]:
        """Every stack, or those of `teams`, by place then name."""
        sql = f"SELECT {columns(StackView)} FROM stacks"
        params: list[str] = []
        if teams is not None:
            params = sorted(teams)
            sql += f" WHERE team IN ({marks(params)})"
        sql += " ORDER BY team, project, environment, name"
        return await self._rows(StackView, sql, params)

    async def one(self, stack_id: str) -> StackView | None:
        sql = f"SELECT {columns(StackView)} FROM stacks WHERE stack_id = ?"
        return await self._row(StackView, sql, (stack_id,))

    async def releases_of(self, stack_id: str, limit: int = 50) -> list[StackReleaseView]:
        """A stack's releases, newest first."""
        sql = f"""SELECT {columns(StackReleaseView, commit='"commit"')} FROM stack_releases
            WHERE stack_id = ? ORDER BY rowid DESC LIMIT ?"""
        return await self._rows(StackReleaseView, sql, (stack_id, limit))

    async def release(self, release_id: str) -> StackReleaseView | None:
        sql = f"""SELECT {columns(StackReleaseView, commit='"commit"')} FROM stack_releases
            WHERE release_id = ?"""
        return await self._row(StackReleaseView, sql, (release_id,))

    async def services_of(self, release_id: str) -> list[StackServiceView]:
        sql = f"""SELECT {columns(StackServiceView)} FROM stack_services WHERE release_id = ?
            ORDER BY rowid"""
        return await self._rows(StackServiceView, sql, (release_id,))

    async def steps_of(self, release_id: str, service: str | None = None) -> list[StackStepView]:
        """A release's steps in order: all of them, or one service's."""
        sql = f"SELECT {columns(StackStepView)} FROM stack_steps WHERE release_id = ?"
        params: list[object] = [release_id]
        if service is not None:
            sql += " AND service = ?"
            params.append(service)
        return await self._rows(StackStepView, sql + " ORDER BY rowid", params)
