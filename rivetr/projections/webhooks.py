"""The webhook deliveries view: every delivery an app received and what was decided, newest
first, to answer "why didn't my push deploy?"; and the previews of pull requests from forks
with the head commit each awaits approval for."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import PreviewApproved, PreviewAwaitingApproval, WebhookReceived
from rivetr.projections.legacy import LEARNS_FROM, LegacyApps

COLUMNS = (
    "position",
    "app",
    "app_id",
    "received_at",
    "provider",
    "event",
    "delivery_id",
    "signature",
    "decision",
    "reason",
    "ref",
    "commit_sha",
    "pr_number",
    "action",
    "deployment_id",
    "remote",
)


class WebhooksProjection:
    name = "webhooks"
    version = 3  # v2: the app's id; v3: fork_previews
    handles: frozenset[str] | None = (
        frozenset({"webhook.received", "app.preview_awaiting_approval", "app.preview_approved"})
        | LEARNS_FROM
    )

    def __init__(self) -> None:
        self.legacy = LegacyApps("webhooks")

    def create(self, conn: sqlite3.Connection) -> None:
        self.legacy.create(conn)
        conn.execute(
            """CREATE TABLE IF NOT EXISTS webhook_deliveries (
                position INTEGER PRIMARY KEY,
                app TEXT NOT NULL,
                app_id TEXT,
                received_at TEXT NOT NULL,
                provider TEXT NOT NULL,
                event TEXT,
                delivery_id TEXT,
                signature TEXT NOT NULL,
                decision TEXT NOT NULL,
                reason TEXT NOT NULL,
                ref TEXT,
                commit_sha TEXT,
                pr_number INTEGER,
                action TEXT,
                deployment_id TEXT,
                remote TEXT
            )"""
        )
        conn.execute(
            "CREATE INDEX IF NOT EXISTS webhook_deliveries_by_app"
            " ON webhook_deliveries (app_id, position)"
        )
        conn.execute(
            """CREATE TABLE IF NOT EXISTS fork_previews (
                preview_id TEXT PRIMARY KEY,
                preview TEXT NOT NULL,
                parent_id TEXT NOT NULL,
                pr_number INTEGER NOT NULL,
                commit_sha TEXT NOT NULL,
                since TEXT NOT NULL,
                approved_by TEXT,
                approved_at TEXT
            )"""
        )
        conn.execute("CREATE INDEX IF NOT EXISTS fork_previews_by_app ON fork_previews (parent_id)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS webhook_deliveries")
        conn.execute("DROP TABLE IF EXISTS fork_previews")
        self.legacy.drop(conn)

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        rows = []
        for event in events:
            if event.type in LEARNS_FROM:
                if event.type == "app.deleted":
                    # a fork's preview awaits nothing once deleted
                    conn.execute(
                        "DELETE FROM fork_previews WHERE preview_id = ?",
                        (self.legacy.app_of(conn, event),),
                    )
                self.legacy.observe(conn, event)
                continue
            body = event.event
            if isinstance(body, WebhookReceived):
                rows.append(
                    (
                        event.position,
                        body.app,
                        self.legacy.app_of(conn, event),
                        event.recorded_at,
                        body.provider,
                        body.event,
                        body.delivery_id,
                        body.signature,
                        body.decision,
                        body.reason,
                        body.ref,
                        body.commit,
                        body.pr_number,
                        body.action,
                        body.deployment_id,
                        body.remote,
                    )
                )
            else:
                _apply_preview(conn, event)  # its own table: its order against rows is moot
        conn.executemany(
            f"INSERT OR REPLACE INTO webhook_deliveries VALUES ({', '.join('?' * len(COLUMNS))})",
            rows,
        )


def _apply_preview(conn: sqlite3.Connection, event: LoggedEvent) -> None:
    """A fork's preview: the head it awaits approval for (one row, its latest head), marked
    approved by whom; gone with the preview."""
    body = event.event
    if isinstance(body, PreviewAwaitingApproval):
        conn.execute(
            "INSERT OR REPLACE INTO fork_previews"
            " (preview_id, preview, parent_id, pr_number, commit_sha, since)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                event.resource,
                body.name,
                body.parent_id,
                body.pr_number,
                body.commit,
                event.recorded_at,
            ),
        )
    elif isinstance(body, PreviewApproved):
        conn.execute(
            "UPDATE fork_previews SET approved_by = ?, approved_at = ?"
            " WHERE preview_id = ? AND commit_sha = ?",
            (event.actor, event.recorded_at, event.resource, body.commit),
        )
