"""The certificates view: which certificate serves each domain (of an app, or of a compose
stack: `app` its name, `app_id` its id), until when, and the last failure to get one; and the
queries that read it."""

from __future__ import annotations

import sqlite3

import msgspec

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain.events import (
    AppDeleted,
    CertificateFailed,
    CertificateInstalled,
    CertificateRenewalAdvised,
)
from rivetr.domain.stack_events import StackDeleted
from rivetr.projections.base import drop_legacy_tables, tag, tags
from rivetr.projections.reading import Queries, columns

_DELETED = {tag(AppDeleted), tag(StackDeleted)}


class CertificatesProjection:
    name = "certificates"
    # v2: failures (in a row, since the last installation); v3: the CA's advice; v4: the app's id
    # v5: the app as the store reads it; v6: a failure's technical detail; v7: a deleted
    # stack's certificates go as a deleted app's do
    version = 7
    handles: frozenset[str] | None = tags(
        CertificateInstalled, CertificateFailed, CertificateRenewalAdvised, AppDeleted, StackDeleted
    )

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS certificates (
                domain TEXT PRIMARY KEY,
                app TEXT NOT NULL,
                app_id TEXT,
                source TEXT,
                not_before TEXT,
                not_after TEXT,
                issuer TEXT,
                fingerprint TEXT,
                installed_at TEXT,
                last_error TEXT,
                last_error_at TEXT,
                failures INTEGER NOT NULL DEFAULT 0,
                renew_at TEXT,
                last_error_technical TEXT
            )"""
        )

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE IF EXISTS certificates")
        drop_legacy_tables(conn, "certificates")

    def apply(self, conn: sqlite3.Connection, event: LoggedEvent) -> None:
        app_id = event.resource
        if event.type in _DELETED:
            conn.execute("DELETE FROM certificates WHERE app_id = ?", (app_id,))
            return
        body = event.event
        match body:
            case CertificateInstalled():
                conn.execute(
                    "INSERT OR REPLACE INTO certificates"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0, NULL, NULL)",
                    (
                        body.domain,
                        body.app,
                        app_id,
                        body.source,
                        body.not_before,
                        body.not_after,
                        body.issuer,
                        body.fingerprint,
                        event.recorded_at,
                    ),
                )
            case CertificateFailed():
                conn.execute(
                    "INSERT INTO certificates"
                    " (domain, app, app_id, last_error, last_error_at, failures,"
                    " last_error_technical)"
                    " VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (domain) DO UPDATE SET"
                    " app = excluded.app, app_id = excluded.app_id,"
                    " last_error = excluded.last_error, last_error_at = excluded.last_error_at,"
                    " last_error_technical = excluded.last_error_technical,"
                    " failures = failures + 1",
                    (
                        body.domain,
                        body.app,
                        app_id,
                        body.detail,
                        event.recorded_at,
                        body.technical,
                    ),
                )
            case CertificateRenewalAdvised():
                # advice for a certificate since replaced says nothing about the new one
                conn.execute(
                    "UPDATE certificates SET renew_at = ? WHERE domain = ? AND fingerprint = ?",
                    (body.renew_at, body.domain, body.fingerprint),
                )


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
    last_error_technical: str | None = None  # what a library said of the last failure


_CERTIFICATE = f"SELECT {columns(CertificateView)} FROM certificates"


class CertificateQueries(Queries):
    async def expiries(self) -> dict[str, str]:
        """domain -> when its certificate expires (ISO 8601), of those installed."""
        rows = await self._values(
            "SELECT domain, not_after FROM certificates WHERE not_after IS NOT NULL ORDER BY 1"
        )
        return {row[0]: row[1] for row in rows}

    async def every(self) -> list[CertificateView]:
        return await self._rows(CertificateView, f"{_CERTIFICATE} ORDER BY domain")

    async def of_app(self, app_id: str) -> list[CertificateView]:
        return await self._rows(
            CertificateView, f"{_CERTIFICATE} WHERE app_id = ? ORDER BY domain", (app_id,)
        )
