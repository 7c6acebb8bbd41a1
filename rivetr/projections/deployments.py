"""The deployments view: each deployment's state and steps, and each app's live release (the
route table the proxy will serve), all by the app's id; and the queries that read them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.deployment import TERMINAL, TRANSITIONS
from rivetr.domain.events import (
    AppDeleted,
    BuildStarted,
    ContainerStarted,
    DeploymentCancelled,
    DeploymentFailed,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentRetired,
    DeploymentSuperseded,
    HealthProbed,
    ImageBuilt,
    ReleaseRestarted,
    ReleaseRestartFailed,
    RollbackStarted,
    RolledBack,
    SourceFetched,
    TrafficSwitched,
    VariablesResolved,
)
from rivetr.domain.replica_events import (
    CopiesChanged,
    ImagePushed,
    Member,
    ServiceStarted,
    TaskRunning,
    TrafficBalanced,
)
from rivetr.projections.base import drop_legacy_tables, tag, tags
from rivetr.projections.reading import Queries, columns, marks, row_as

# a releases row made from the deployments row that goes live (the time comes first, as ?)
_RELEASE_FROM_DEPLOYMENT = (
    "app_id, app, id, image, container_name, host_port, ?, service_name, members, balance"
)
_APP_DELETED = tag(AppDeleted)
# a deployment's end, when it goes live: one container switched to, or copies balanced over
_SWITCHED, _BALANCED = tag(TrafficSwitched), tag(TrafficBalanced)


class DeploymentsProjection:
    name = "deployments"
    # v2: by app id, with the team it was requested in; v3: the app as read; v4: the variables
    # a deployment resolved, among its steps; v5: an app on servers' releases: their swarm
    # service, copies and balance
    version = 5
    handles: frozenset[str] | None = tags(
        DeploymentRequested,
        SourceFetched,
        BuildStarted,
        ImageBuilt,
        ContainerStarted,
        HealthProbed,
        DeploymentHealthy,
        TrafficSwitched,
        DeploymentSuperseded,
        DeploymentRetired,
        ReleaseRestarted,
        ReleaseRestartFailed,
        DeploymentFailed,
        RollbackStarted,
        RolledBack,
        DeploymentCancelled,
        AppDeleted,
        VariablesResolved,
        ImagePushed,
        ServiceStarted,
        TaskRunning,
        TrafficBalanced,
        CopiesChanged,
    )
    # apply never reads by a step's type: built once after a rebuild (see base.reader_indexes)
    reader_indexes = ("steps_by_type",)

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS deployments (
                id TEXT PRIMARY KEY,
                app TEXT NOT NULL,
                app_id TEXT,
                team TEXT,
                status TEXT NOT NULL,
                trigger TEXT NOT NULL,
                branch TEXT NOT NULL,
                commit_ref TEXT,
                commit_sha TEXT,
                commit_message TEXT,
                image TEXT,
                container_name TEXT,
                host_port INTEGER,
                rollback_of TEXT,
                failed_step TEXT,
                failure_reason TEXT,
                requested_at TEXT NOT NULL,
                requested_by TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                finished_at TEXT,
                position INTEGER NOT NULL,
                service_name TEXT,
                members TEXT NOT NULL DEFAULT '[]',
                balance TEXT
            )"""
        )
        conn.execute(
            "CREATE INDEX IF NOT EXISTS deployments_by_app ON deployments (app_id, position)"
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS deployment_steps (
                position INTEGER PRIMARY KEY,
                deployment_id TEXT NOT NULL,
                type TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                actor TEXT NOT NULL,
                detail TEXT NOT NULL
            )"""
        )
        conn.execute(
            "CREATE INDEX IF NOT EXISTS steps_by_deployment ON deployment_steps (deployment_id)"
        )
        # which deployments went live, and when: what /metrics counts, from the index alone
        conn.execute(
            "CREATE INDEX IF NOT EXISTS steps_by_type"
            " ON deployment_steps (type, deployment_id, recorded_at)"
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS releases (
                app_id TEXT PRIMARY KEY,
                app TEXT NOT NULL,
                deployment_id TEXT NOT NULL,
                image TEXT,
                container_name TEXT,
                host_port INTEGER,
                since TEXT NOT NULL,
                service_name TEXT,
                members TEXT NOT NULL,
                balance TEXT
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        for table in ("deployments", "deployment_steps", "releases"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        drop_legacy_tables(conn, "deployments")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        if event.type == _APP_DELETED:
            conn.execute("DELETE FROM releases WHERE app_id = ?", (event.resource,))
            return
        body = event.event
        if isinstance(body, DeploymentRequested):
            app_id = event.resource or body.app_id
            conn.execute(
                "INSERT OR REPLACE INTO deployments (id, app, app_id, team, status, trigger,"
                " branch, commit_ref, image, rollback_of, requested_at, requested_by,"
                " updated_at, position)"
                " VALUES (?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    body.deployment_id,
                    body.app,
                    app_id,
                    event.team,
                    body.trigger,
                    body.branch,
                    body.commit,
                    body.image,
                    body.rollback_of,
                    event.recorded_at,
                    event.actor,
                    event.recorded_at,
                    event.position,
                ),
            )
        else:
            self._advance(conn, event)
        conn.execute(
            "INSERT OR REPLACE INTO deployment_steps VALUES (?, ?, ?, ?, ?, ?)",
            (
                event.position,
                getattr(body, "deployment_id", ""),
                event.type,
                event.recorded_at,
                event.actor,
                event.data,
            ),
        )

    def _advance(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        body = event.event
        deployment_id = getattr(body, "deployment_id", None)
        row = conn.execute(
            "SELECT status FROM deployments WHERE id = ?", (deployment_id,)
        ).fetchone()
        if row is None:
            return
        status = TRANSITIONS.get(row[0], {}).get(event.type)
        if status is None:
            return  # the store never holds refused steps; tolerate them all the same
        changes: dict[str, object] = {"status": status, "updated_at": event.recorded_at}
        if status in TERMINAL:
            changes["finished_at"] = event.recorded_at
        match body:
            case SourceFetched():
                changes.update(commit_sha=body.commit_sha, commit_message=body.commit_message)
            case ImageBuilt():
                changes["image"] = body.image
            case ContainerStarted():
                changes.update(
                    container_name=body.container_name, host_port=body.host_port, image=body.image
                )
            case DeploymentFailed():
                changes.update(failed_step=body.step, failure_reason=body.reason)
            case DeploymentCancelled():
                changes["failure_reason"] = body.reason
            case ServiceStarted():
                changes["service_name"] = body.service_name
            case TrafficSwitched():
                conn.execute(
                    f"INSERT OR REPLACE INTO releases SELECT {_RELEASE_FROM_DEPLOYMENT}"
                    " FROM deployments WHERE id = ? AND app_id IS NOT NULL",
                    (event.recorded_at, body.deployment_id),
                )
            case CopiesChanged():
                members = msgspec.json.encode(body.members)
                conn.execute(
                    "UPDATE deployments SET members = ? WHERE id = ?", (members, body.deployment_id)
                )
                conn.execute(
                    "UPDATE releases SET members = ? WHERE deployment_id = ?",
                    (members, body.deployment_id),
                )
            case TrafficBalanced():
                # written before the release row is made from it, below
                conn.execute(
                    "UPDATE deployments SET members = ?, balance = ? WHERE id = ?",
                    (msgspec.json.encode(body.members), body.balance, body.deployment_id),
                )
                conn.execute(
                    f"INSERT OR REPLACE INTO releases SELECT {_RELEASE_FROM_DEPLOYMENT}"
                    " FROM deployments WHERE id = ? AND app_id IS NOT NULL",
                    (event.recorded_at, body.deployment_id),
                )
            case ReleaseRestarted():
                changes.update(container_name=body.container_name, host_port=body.host_port)
                conn.execute(
                    "UPDATE releases SET container_name = ?, host_port = ? WHERE deployment_id = ?",
                    (body.container_name, body.host_port, body.deployment_id),
                )
            case RolledBack():
                self._route_back(conn, body, event.recorded_at)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        conn.execute(
            f"UPDATE deployments SET {assignments} WHERE id = ?",
            (*changes.values(), deployment_id),
        )

    @staticmethod
    def _route_back(conn: sqlite3.Connection, body: RolledBack, at: str) -> None:
        if body.to_deployment_id is None:
            conn.execute("DELETE FROM releases WHERE deployment_id = ?", (body.deployment_id,))
            return
        conn.execute(
            f"INSERT OR REPLACE INTO releases SELECT {_RELEASE_FROM_DEPLOYMENT}"
            " FROM deployments WHERE id = ? AND app_id IS NOT NULL",
            (at, body.to_deployment_id),
        )


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
    # an app on servers: its swarm service and the copies traffic is balanced over
    service_name: str | None = None
    members: list[Member] = msgspec.field(default_factory=list)
    balance: str | None = None


_DEPLOYMENT = f"SELECT {columns(DeploymentView, commit='commit_ref')} FROM deployments"
_STEPS = f"SELECT {columns(StepView)} FROM deployment_steps"
_RELEASE = f"SELECT {columns(ReleaseView)} FROM releases"


class DeploymentQueries(Queries):
    async def by_id(self, deployment_id: str) -> DeploymentView | None:
        return await self._row(DeploymentView, f"{_DEPLOYMENT} WHERE id = ?", (deployment_id,))

    async def of_app(self, app_id: str, limit: int = 50, offset: int = 0) -> list[DeploymentView]:
        """The app's deployments, newest first: `limit` of them after skipping `offset`."""
        return await self._rows(
            DeploymentView,
            f"{_DEPLOYMENT} WHERE app_id = ? ORDER BY position DESC LIMIT ? OFFSET ?",
            (app_id, limit, offset),
        )

    async def apps_using(self, images: Iterable[str], other_than: str) -> list[str]:
        """The ids of the apps, but `other_than`, with a deployment of one of `images` (a
        release promoted from one app to another runs the first one's image)."""
        wanted = list(images)
        rows = await self._values(
            f"SELECT DISTINCT app_id FROM deployments WHERE image IN ({marks(wanted)})"
            " AND app_id IS NOT NULL AND app_id != ? ORDER BY app_id",
            [*wanted, other_than],
        )
        return [row["app_id"] for row in rows]

    async def with_status(self, statuses: Iterable[str]) -> list[DeploymentView]:
        wanted = list(statuses)
        return await self._rows(
            DeploymentView,
            f"{_DEPLOYMENT} WHERE status IN ({marks(wanted)}) ORDER BY position",
            wanted,
        )

    async def latest(self) -> dict[str, DeploymentView]:
        """Each app's newest deployment, by app id: the apps list's "last deploy" column."""
        return _by_app(
            await self._rows(
                DeploymentView,
                f"{_DEPLOYMENT} WHERE position IN (SELECT MAX(position) FROM deployments"
                " WHERE app_id IS NOT NULL GROUP BY app_id)",
            )
        )

    async def live(self) -> dict[str, DeploymentView]:
        """The deployment each app's live release came from, by app id."""
        return _by_app(
            await self._rows(
                DeploymentView,
                f"{_DEPLOYMENT} WHERE id IN (SELECT deployment_id FROM releases)",
            )
        )

    async def steps(self, deployment_id: str) -> list[StepView]:
        return await self._rows(
            StepView, f"{_STEPS} WHERE deployment_id = ? ORDER BY position", (deployment_id,)
        )

    async def timeline(
        self, app_id: str, deployments: int = 20, offset: int = 0
    ) -> dict[str, list[StepView]]:
        """Every step of the app's newest `deployments` (after skipping `offset`), per
        deployment, oldest step first."""
        rows = await self._values(
            f"SELECT deployment_id, {columns(StepView)} FROM deployment_steps WHERE"
            " deployment_id IN (SELECT id FROM deployments WHERE app_id = ?"
            " ORDER BY position DESC LIMIT ? OFFSET ?) ORDER BY position",
            (app_id, deployments, offset),
        )
        found: dict[str, list[StepView]] = {}
        for row in rows:
            found.setdefault(row["deployment_id"], []).append(row_as(StepView, row))
        return found

    async def releases(self) -> list[ReleaseView]:
        """Every app's live release: the route table."""
        return await self._rows(ReleaseView, f"{_RELEASE} ORDER BY app")

    async def release(self, app_id: str | None) -> ReleaseView | None:
        return await self._row(ReleaseView, f"{_RELEASE} WHERE app_id = ?", (app_id,))

    async def statuses(self) -> dict[str, int]:
        """How many deployments there are in each status."""
        rows = await self._values("SELECT status, COUNT(*) FROM deployments GROUP BY 1 ORDER BY 1")
        return {row[0]: row[1] for row in rows}

    async def went_live(self) -> int:
        """How many deployments went live (their traffic switched), whatever came after."""
        [row] = await self._values(
            "SELECT COUNT(*) FROM deployment_steps WHERE type IN (?, ?)", (_SWITCHED, _BALANCED)
        )
        return int(row[0])

    async def durations(self) -> list[tuple[str, float]]:
        """(how it ended, seconds from its request) of each deployment that ended: "live" at
        its traffic switch, else its status when it stopped ("failed", "cancelled"). Fixed
        once ended, so the set only ever grows (metrics keep it until a count changes)."""
        rows = await self._values(
            "SELECT 'live', 86400.0 * (julianday(s.recorded_at) - julianday(d.requested_at))"
            " FROM deployment_steps s JOIN deployments d ON d.id = s.deployment_id"
            " WHERE s.type IN (?1, ?2) UNION ALL"
            " SELECT status, 86400.0 * (julianday(finished_at) - julianday(requested_at))"
            " FROM deployments WHERE finished_at IS NOT NULL AND id NOT IN"
            " (SELECT deployment_id FROM deployment_steps WHERE type IN (?1, ?2))",
            (_SWITCHED, _BALANCED),
        )
        return [(row[0], row[1]) for row in rows]


def _by_app(found: list[DeploymentView]) -> dict[str, DeploymentView]:
    return {view.app_id: view for view in found if view.app_id}
