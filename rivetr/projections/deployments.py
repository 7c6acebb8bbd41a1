"""The deployments view: each deployment's state and steps, and each app's live release (the
route table the proxy will serve), all by the app's id."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.deployment import TERMINAL, TRANSITIONS
from rivetr.domain.events import (
    ContainerStarted,
    DeploymentCancelled,
    DeploymentFailed,
    DeploymentRequested,
    ImageBuilt,
    ReleaseRestarted,
    RolledBack,
    SourceFetched,
    TrafficSwitched,
)
from rivetr.projections.legacy import LEARNS_FROM, LegacyApps

# a releases row made from the deployments row that goes live (the time comes first, as ?)
_RELEASE_FROM_DEPLOYMENT = "app_id, app, id, image, container_name, host_port, ?"


class DeploymentsProjection:
    name = "deployments"
    version = 2  # v2: by app id, with the team it was requested in
    handles: frozenset[str] | None = frozenset(
        {tag for steps in TRANSITIONS.values() for tag in steps}
        | {"deployment.requested", "app.deleted"}
        | LEARNS_FROM
    )

    def __init__(self) -> None:
        self.legacy = LegacyApps("deployments")

    def create(self, conn: sqlite3.Connection) -> None:
        self.legacy.create(conn)
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
                position INTEGER NOT NULL
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
        conn.execute(
            """CREATE TABLE IF NOT EXISTS releases (
                app_id TEXT PRIMARY KEY,
                app TEXT NOT NULL,
                deployment_id TEXT NOT NULL,
                image TEXT,
                container_name TEXT,
                host_port INTEGER,
                since TEXT NOT NULL
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        for table in ("deployments", "deployment_steps", "releases"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        self.legacy.drop(conn)

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        if event.type == "app.created":
            self.legacy.observe(conn, event)
            return
        if event.type == "app.deleted":
            app_id = self.legacy.app_of(conn, event)
            self.legacy.observe(conn, event)
            conn.execute("DELETE FROM releases WHERE app_id = ?", (app_id,))
            return
        body = event.event
        if isinstance(body, DeploymentRequested):
            app_id = self.legacy.app_of(conn, event) or body.app_id
            self.legacy.observe(conn, event)
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
            case TrafficSwitched():
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


def decode_detail(detail: bytes) -> dict[str, object]:
    value = msgspec.json.decode(detail)
    assert isinstance(value, dict)
    return value
