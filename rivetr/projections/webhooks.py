"""The webhook deliveries view: every delivery an app received and what was decided, newest
first, to answer "why didn't my push deploy?"; and the previews of pull requests from forks
with the head commit each awaits approval for; and the queries that read them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    AppDeleted,
    PreviewApproved,
    PreviewAwaitingApproval,
    WebhookReceived,
)
from rivetr.projections.base import drop_legacy_tables, tag, tags
from rivetr.projections.reading import Queries, columns

_APP_DELETED = tag(AppDeleted)

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
    version = 4  # v2: the app's id; v3: fork_previews; v4: the app as the store reads it
    handles: frozenset[str] | None = tags(
        WebhookReceived, PreviewAwaitingApproval, PreviewApproved, AppDeleted
    )

    def create(self, conn: sqlite3.Connection) -> None:
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
        drop_legacy_tables(conn, "webhooks")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        rows = []
        for event in events:
            if event.type == _APP_DELETED:  # a fork's preview awaits nothing once deleted
                conn.execute("DELETE FROM fork_previews WHERE preview_id = ?", (event.resource,))
                continue
            body = event.event
            if isinstance(body, WebhookReceived):
                rows.append(
                    (
                        event.position,
                        body.app,
                        event.resource,
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


class WebhookQueries(Queries):
    async def decisions(self) -> dict[str, int]:
        """How many deliveries were received, by what was decided of each."""
        rows = await self._values(
            "SELECT decision, COUNT(*) FROM webhook_deliveries GROUP BY decision ORDER BY 1"
        )
        return {row[0]: row[1] for row in rows}

    async def deliveries(self, app_id: str, limit: int = 50) -> list[DeliveryView]:
        return await self._rows(
            DeliveryView,
            f"SELECT {columns(DeliveryView)} FROM webhook_deliveries"
            " WHERE app_id = ? ORDER BY position DESC LIMIT ?",
            (app_id, limit),
        )

    async def pending_previews(self, app_id: str) -> list[ForkPreviewView]:
        """The app's previews of pull requests from forks whose head awaits approval."""
        return await self._rows(
            ForkPreviewView,
            f"SELECT {columns(ForkPreviewView)} FROM fork_previews"
            " WHERE parent_id = ? AND approved_at IS NULL ORDER BY pr_number",
            (app_id,),
        )
