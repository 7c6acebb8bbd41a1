"""Reading the read model: typed views over read.db for the API and the dashboard."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import msgspec

from rivetr.domain.settings import BuildSettings, HealthCheck, Resources
from rivetr.domain.tokens import TokenLink
from rivetr.projections.tokens import CHAIN_QUERY, chain_links


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


class TokenView(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    name: str
    scope: str
    created_at: str
    created_by: str
    revoked_at: str | None
    owner: str | None
    expires_at: str | None
    team: str | None
    parent_token_id: str | None  # the token that minted it; it stops working with that one


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
    limit: int = 50


class DeploymentView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    app: str  # its app's name
    app_id: str | None  # None: an app of an older log this Rivetr cannot read
    team: str | None  # the team it was requested in
    status: str
    trigger: str
    branch: str
    commit: str | None
    commit_sha: str | None
    commit_message: str | None
    image: str | None
    container_name: str | None
    host_port: int | None
    rollback_of: str | None
    failed_step: str | None
    failure_reason: str | None
    requested_at: str
    requested_by: str
    updated_at: str
    finished_at: str | None


class StepView(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    type: str
    recorded_at: str
    actor: str
    detail: dict[str, Any]


class ReleaseView(msgspec.Struct, frozen=True, kw_only=True):
    app_id: str
    app: str  # its name
    deployment_id: str
    image: str | None
    container_name: str | None
    host_port: int | None
    since: str


_DEPLOYMENT_COLUMNS = (
    "id, app, app_id, team, status, trigger, branch, commit_ref, commit_sha, commit_message, image,"
    " container_name, host_port, rollback_of, failed_step, failure_reason, requested_at,"
    " requested_by, updated_at, finished_at"
)

_APP_COLUMNS = (
    "id, name, git_url, branch, build, port, domains, health, resources, env_names, git_auth,"
    " created_at, created_by, updated_at, version, team, watch_paths, previews, webhook,"
    " preview_of, pr_number, build_args, previews_from_forks"
)
_RELEASE_COLUMNS = ", ".join(ReleaseView.__struct_fields__)
_decode = msgspec.json.decode
_V = TypeVar("_V", bound=msgspec.Struct)
_TOKEN_COLUMNS = ", ".join(TokenView.__struct_fields__)


def _deployment(row: Any) -> DeploymentView:
    return DeploymentView(**dict(zip(DeploymentView.__struct_fields__, row, strict=True)))


def _app(row: aiosqlite.Row) -> AppView:
    return AppView(
        id=row[0],
        name=row[1],
        git_url=row[2],
        branch=row[3],
        build=_decode(row[4], type=BuildSettings),
        port=row[5],
        domains=_decode(row[6], type=list[str]),
        health=_decode(row[7], type=HealthCheck),
        resources=_decode(row[8], type=Resources),
        env=_decode(row[9], type=list[str]),
        git_auth=_decode(row[10], type=list[str]),
        created_at=row[11],
        created_by=row[12],
        updated_at=row[13],
        version=row[14],
        team=row[15],
        watch_paths=_decode(row[16], type=list[str]),
        previews=bool(row[17]),
        webhook=bool(row[18]),
        preview_of=row[19],
        pr_number=row[20],
        build_args=_decode(row[21], type=list[str]),
        previews_from_forks=bool(row[22]),
    )


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    user_id: str
    role: str
    expires_at: str
    ended_at: str | None


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    email: str
    role: str
    created_at: str
    created_by: str
    locked_until: str | None


class TeamView(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    name: str
    owner: str
    created_at: str
    created_by: str


class MemberView(msgspec.Struct, frozen=True, kw_only=True):
    team: str
    user_id: str
    role: str
    since: str


class InvitationView(msgspec.Struct, frozen=True, kw_only=True):
    invitation_id: str
    team: str
    email: str
    role: str
    expires_at: str
    created_at: str
    created_by: str
    status: str  # open, accepted, revoked
    closed_at: str | None


class SessionListing(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    user_id: str
    started_at: str
    expires_at: str
    remote: str | None
    ended_at: str | None


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    app: str  # the name it was sent to
    app_id: str | None  # the app that name was then (None: none)
    received_at: str
    provider: str
    event: str | None
    delivery_id: str | None
    signature: str  # valid, invalid, missing, no secret
    decision: str  # deploy, preview, close_preview, ignored, refused, replayed
    reason: str
    ref: str | None
    commit_sha: str | None
    pr_number: int | None
    action: str | None
    deployment_id: str | None
    remote: str | None


class ForkPreviewView(msgspec.Struct, frozen=True, kw_only=True):
    """A preview of a pull request from a fork, and the head commit it awaits approval for."""

    preview: str  # the preview app
    pr_number: int
    commit_sha: str  # the head to review; approving it deploys it with the app's secrets
    since: str  # when that head arrived


class CertificateView(msgspec.Struct, frozen=True, kw_only=True):
    domain: str
    app: str
    app_id: str | None
    source: str | None  # uploaded, acme; None: none installed yet (see last_error)
    not_before: str | None
    not_after: str | None
    issuer: str | None
    fingerprint: str | None
    installed_at: str | None
    last_error: str | None
    last_error_at: str | None
    failures: int  # failed orders in a row since the last installation
    renew_at: str | None = None  # when the CA advises renewing it (ACME ARI), if it does


def _rows_as(kind: type[_V], rows: Iterable[Any]) -> list[_V]:
    fields = kind.__struct_fields__
    return [kind(**dict(zip(fields, row, strict=True))) for row in rows]


class ReadModel:
    """Queries over read.db on a connection of their own (WAL lets them run beside writes)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path | str) -> ReadModel:
        return cls(await aiosqlite.connect(path))

    async def list_apps(self, teams: Iterable[str] | None = None) -> list[AppView]:
        """Every app, or only those of `teams`."""
        if teams is None:
            rows = await self._conn.execute_fetchall(
                f"SELECT {_APP_COLUMNS} FROM apps ORDER BY name"
            )
        else:
            wanted = sorted(teams)
            rows = await self._conn.execute_fetchall(
                f"SELECT {_APP_COLUMNS} FROM apps WHERE team IN ({', '.join('?' * len(wanted))})"
                " ORDER BY name",
                wanted,
            )
        return [_app(row) for row in rows]

    async def count_apps(self, team: str) -> int:
        rows = list(
            await self._conn.execute_fetchall("SELECT COUNT(*) FROM apps WHERE team = ?", (team,))
        )
        return int(rows[0][0])

    async def memberships_of(self, user_id: str) -> dict[str, str]:
        """team -> the user's role in it."""
        rows = await self._conn.execute_fetchall(
            "SELECT team, role FROM members WHERE user_id = ?", (user_id,)
        )
        return {team: role for team, role in rows}

    async def list_teams(self, teams: Iterable[str] | None = None) -> list[TeamView]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(TeamView.__struct_fields__)} FROM teams ORDER BY team"
        )
        found = _rows_as(TeamView, rows)
        if teams is None:
            return found
        wanted = set(teams)
        return [t for t in found if t.team in wanted]

    async def team_members(self, team: str) -> list[MemberView]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(MemberView.__struct_fields__)} FROM members WHERE team = ?"
            " ORDER BY user_id",
            (team,),
        )
        return _rows_as(MemberView, rows)

    async def invitations_of(self, team: str) -> list[InvitationView]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(InvitationView.__struct_fields__)} FROM invitations"
            " WHERE team = ? ORDER BY created_at",
            (team,),
        )
        return _rows_as(InvitationView, rows)

    async def invitation_by_hash(self, secret_hash: str) -> InvitationView | None:
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(InvitationView.__struct_fields__)} FROM invitations"
            " WHERE secret_hash = ?",
            (secret_hash,),
        )
        found = _rows_as(InvitationView, rows)
        return found[0] if found else None

    async def deliveries(self, app_id: str, limit: int = 50) -> list[DeliveryView]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(DeliveryView.__struct_fields__)} FROM webhook_deliveries"
            " WHERE app_id = ? ORDER BY position DESC LIMIT ?",
            (app_id, limit),
        )
        return _rows_as(DeliveryView, rows)

    async def pending_previews(self, app_id: str) -> list[ForkPreviewView]:
        """The app's previews of pull requests from forks whose head awaits approval."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(ForkPreviewView.__struct_fields__)} FROM fork_previews"
            " WHERE parent_id = ? AND approved_at IS NULL ORDER BY pr_number",
            (app_id,),
        )
        return _rows_as(ForkPreviewView, rows)

    async def certificates(self, app_id: str | None = None) -> list[CertificateView]:
        """The certificates of the app `app_id`, or of every app."""
        columns = ", ".join(CertificateView.__struct_fields__)
        if app_id is None:
            rows = await self._conn.execute_fetchall(
                f"SELECT {columns} FROM certificates ORDER BY domain"
            )
        else:
            rows = await self._conn.execute_fetchall(
                f"SELECT {columns} FROM certificates WHERE app_id = ? ORDER BY domain", (app_id,)
            )
        return _rows_as(CertificateView, rows)

    async def list_sessions(self, user_id: str | None = None) -> list[SessionListing]:
        """Sessions not ended, of one user or of all."""
        columns = ", ".join(SessionListing.__struct_fields__)
        if user_id is None:
            rows = await self._conn.execute_fetchall(
                f"SELECT {columns} FROM sessions WHERE ended_at IS NULL ORDER BY started_at"
            )
        else:
            rows = await self._conn.execute_fetchall(
                f"SELECT {columns} FROM sessions WHERE ended_at IS NULL AND user_id = ?"
                " ORDER BY started_at",
                (user_id,),
            )
        return _rows_as(SessionListing, rows)

    async def get_app(self, name: str) -> AppView | None:
        """The live app named `name`."""
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_APP_COLUMNS} FROM apps WHERE name = ? ORDER BY created_at DESC LIMIT 1",
                (name,),
            )
        )
        return _app(rows[0]) if rows else None

    async def get_app_by_id(self, app_id: str) -> AppView | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_APP_COLUMNS} FROM apps WHERE id = ?", (app_id,)
            )
        )
        return _app(rows[0]) if rows else None

    async def app_id_named(self, name: str) -> str | None:
        app = await self.get_app(name)
        return app.id if app is not None else None

    async def token_by_hash(self, secret_hash: str) -> TokenView | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?",
                (secret_hash,),
            )
        )
        return (
            TokenView(**dict(zip(TokenView.__struct_fields__, rows[0], strict=True)))
            if rows
            else None
        )

    async def token_chain(self, token_id: str) -> list[TokenLink]:
        """The token and each one it descends from, nearest first."""
        return chain_links(await self._conn.execute_fetchall(CHAIN_QUERY, (token_id,)))

    async def list_tokens(self) -> list[TokenView]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_TOKEN_COLUMNS} FROM tokens ORDER BY created_at"
        )
        return [TokenView(**dict(zip(TokenView.__struct_fields__, r, strict=True))) for r in rows]

    async def recent_audit(
        self, limit: int = 50, teams: Iterable[str] | None = None
    ) -> list[AuditEntry]:
        """The newest entries; with `teams`, only those recorded in one of them."""
        where, params = "", []
        if teams is not None:
            wanted = sorted(teams)
            where = f" WHERE team IN ({', '.join('?' * len(wanted))})"
            params = list(wanted)
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(AuditEntry.__struct_fields__)} FROM audit{where}"
            " ORDER BY position DESC LIMIT ?",
            [*params, limit],
        )
        return _rows_as(AuditEntry, rows)

    async def audit(self, query: AuditQuery) -> list[AuditEntry]:
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
        if query.since is not None:
            clauses.append("recorded_at >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("recorded_at < ?")
            params.append(query.until)
        if query.before is not None:
            clauses.append("position < ?")
            params.append(query.before)
        if query.teams is not None:
            wanted = sorted(query.teams)
            either = " OR team IS NULL" if query.instance else ""
            clauses.append(f"(team IN ({', '.join('?' * len(wanted))}){either})")
            params += wanted
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(AuditEntry.__struct_fields__)} FROM audit{where}"
            " ORDER BY position DESC LIMIT ?",
            [*params, query.limit],
        )
        return _rows_as(AuditEntry, rows)

    async def audit_entry(self, position: int) -> AuditEntry | None:
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join(AuditEntry.__struct_fields__)} FROM audit WHERE position = ?",
            (position,),
        )
        found = _rows_as(AuditEntry, rows)
        return found[0] if found else None

    async def team_of_app(self, app_id: str) -> str | None:
        """The team an app was created in (deleted since or not)."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT team FROM audit_apps WHERE app_id = ?", (app_id,)
            )
        )
        return rows[0][0] if rows else None

    async def list_deployments(
        self, app_id: str, limit: int = 50, offset: int = 0
    ) -> list[DeploymentView]:
        """The app's deployments, newest first: `limit` of them after skipping `offset`."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE app_id = ?"
            " ORDER BY position DESC LIMIT ? OFFSET ?",
            (app_id, limit, offset),
        )
        return [_deployment(row) for row in rows]

    async def get_deployment(self, deployment_id: str) -> DeploymentView | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE id = ?", (deployment_id,)
            )
        )
        return _deployment(rows[0]) if rows else None

    async def deployments_with_status(self, statuses: Iterable[str]) -> list[DeploymentView]:
        wanted = list(statuses)
        marks = ", ".join("?" * len(wanted))
        rows = await self._conn.execute_fetchall(
            f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE status IN ({marks})"
            " ORDER BY position",
            wanted,
        )
        return [_deployment(row) for row in rows]

    async def steps(self, deployment_id: str) -> list[StepView]:
        rows = await self._conn.execute_fetchall(
            "SELECT position, type, recorded_at, actor, detail FROM deployment_steps"
            " WHERE deployment_id = ? ORDER BY position",
            (deployment_id,),
        )
        return [
            StepView(position=r[0], type=r[1], recorded_at=r[2], actor=r[3], detail=_decode(r[4]))
            for r in rows
        ]

    async def timeline(
        self, app_id: str, deployments: int = 20, offset: int = 0
    ) -> dict[str, list[StepView]]:
        """Every step of the app's newest `deployments` (after skipping `offset`), per
        deployment, oldest step first."""
        rows = await self._conn.execute_fetchall(
            "SELECT s.deployment_id, s.position, s.type, s.recorded_at, s.actor, s.detail"
            " FROM deployment_steps s WHERE s.deployment_id IN"
            " (SELECT id FROM deployments WHERE app_id = ? ORDER BY position DESC LIMIT ? OFFSET ?)"
            " ORDER BY s.position",
            (app_id, deployments, offset),
        )
        found: dict[str, list[StepView]] = {}
        for r in rows:
            found.setdefault(r[0], []).append(
                StepView(
                    position=r[1], type=r[2], recorded_at=r[3], actor=r[4], detail=_decode(r[5])
                )
            )
        return found

    async def session_by_hash(self, secret_hash: str) -> SessionView | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT s.session_id, s.user_id, u.role, s.expires_at, s.ended_at"
                " FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.secret_hash = ?",
                (secret_hash,),
            )
        )
        if not rows:
            return None
        return SessionView(**dict(zip(SessionView.__struct_fields__, rows[0], strict=True)))

    async def list_users(self) -> list[UserView]:
        rows = await self._conn.execute_fetchall(
            "SELECT user_id, email, role, created_at, created_by, locked_until FROM users"
            " ORDER BY user_id"
        )
        return [UserView(**dict(zip(UserView.__struct_fields__, r, strict=True))) for r in rows]

    async def latest_deployments(self) -> dict[str, DeploymentView]:
        """Each app's newest deployment, by app id: the apps list's "last deploy" column."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments WHERE position IN"
            " (SELECT MAX(position) FROM deployments WHERE app_id IS NOT NULL GROUP BY app_id)"
        )
        return {found.app_id: found for found in map(_deployment, rows) if found.app_id}

    async def live_deployments(self) -> dict[str, DeploymentView]:
        """The deployment each app's live release came from, by app id."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments"
            " WHERE id IN (SELECT deployment_id FROM releases)"
        )
        return {found.app_id: found for found in map(_deployment, rows) if found.app_id}

    async def live_releases(self) -> list[ReleaseView]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_RELEASE_COLUMNS} FROM releases ORDER BY app"
        )
        return _rows_as(ReleaseView, rows)

    async def live_release(self, app_id: str | None) -> ReleaseView | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE app_id = ?", (app_id,)
            )
        )
        if not rows:
            return None
        return ReleaseView(**dict(zip(ReleaseView.__struct_fields__, rows[0], strict=True)))

    async def close(self) -> None:
        await self._conn.close()
