"""The webhook deliveries view: every delivery an app received and what was decided, newest
first, to answer "why didn't my push deploy?"."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import WebhookReceived
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
    version = 2  # v2: the app's id
    handles: frozenset[str] | None = frozenset({"webhook.received"}) | LEARNS_FROM

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

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS webhook_deliveries")
        self.legacy.drop(conn)

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        self.apply_batch(conn, (event,))

    def apply_batch(self, conn: sqlite3.Connection, events: Sequence[LoggedEvent]) -> None:
        rows = []
        for event in events:
            if event.type != "webhook.received":
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
        conn.executemany(
            f"INSERT OR REPLACE INTO webhook_deliveries VALUES ({', '.join('?' * len(COLUMNS))})",
            rows,
        )
