"""The webhook deliveries view: every delivery an app received and what was decided, newest
first, to answer "why didn't my push deploy?"."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import WebhookReceived

COLUMNS = (
    "position",
    "app",
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
    version = 1
    handles: frozenset[str] | None = frozenset({"webhook.received"})

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS webhook_deliveries (
                position INTEGER PRIMARY KEY,
                app TEXT NOT NULL,
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
            " ON webhook_deliveries (app, position)"
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS webhook_deliveries")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        rows = []
        for event in events:
            body = event.event
            if isinstance(body, WebhookReceived):
                rows.append(
                    (
                        event.position,
                        body.app,
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
        conn.executemany(
            f"INSERT OR REPLACE INTO webhook_deliveries VALUES ({', '.join('?' * len(COLUMNS))})",
            rows,
        )
