"""Events from before events recorded their app: each view gives them to the app that held the
name at that point of the log, the same whether it applies them as they come or rebuilds."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner

pytestmark = pytest.mark.anyio


async def older(store: InMemoryEventStore, stream: str, body: dict[str, Any], team: str) -> None:
    """Append `body` as Rivetr wrote it before ids: no resource, app.created at v2."""
    version = 2 if body["type"] == "app.created" else 1
    encoded = (body["type"], version, msgspec.json.encode(body))
    await store.append_encoded(stream, encoded, EventMeta(actor="ann", team=team))


async def a_name_used_twice(store: InMemoryEventStore) -> None:
    await older(store, "app-shop", {"type": "app.created", "name": "shop", "team": "acme"}, "acme")
    await older(
        store,
        "deployment-d1",
        {"type": "deployment.requested", "deployment_id": "d1", "app": "shop", "branch": "main"},
        "acme",
    )
    await older(
        store,
        "hook-github-1",
        {
            "type": "webhook.received",
            "app": "shop",
            "provider": "github",
            "event": "push",
            "delivery_id": "1",
            "signature": "invalid",
            "decision": "refused",
            "reason": "r",
        },
        "acme",
    )
    await older(store, "app-shop", {"type": "app.deleted", "name": "shop"}, "acme")
    await older(
        store, "app-shop", {"type": "app.created", "name": "shop", "team": "globex"}, "globex"
    )
    await older(
        store,
        "deployment-d2",
        {"type": "deployment.requested", "deployment_id": "d2", "app": "shop", "branch": "main"},
        "globex",
    )


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(sql))
    finally:
        conn.close()


async def test_each_older_event_goes_to_the_app_that_had_the_name_then(tmp_path: Path) -> None:
    store = InMemoryEventStore()
    as_they_came = ProjectionRunner(store, tmp_path / "incremental.db", all_projections())
    await as_they_came.open()
    await a_name_used_twice(store)
    for page in (1, 2):  # one event at a time, then the rest
        as_they_came.page = page
        await as_they_came.catch_up()
    rebuilt = ProjectionRunner(store, tmp_path / "rebuilt.db", all_projections())
    await rebuilt.open()
    await rebuilt.catch_up()
    await as_they_came.close()
    await rebuilt.close()

    for path in (tmp_path / "incremental.db", tmp_path / "rebuilt.db"):
        assert rows(path, "SELECT id, app_id, team FROM deployments") == [
            ("d1", "shop.1", "acme"),
            ("d2", "shop.5", "globex"),
        ]
        assert rows(path, "SELECT app_id FROM webhook_deliveries") == [("shop.1",)]
        assert rows(path, "SELECT position, app, app_id FROM audit") == [
            (1, "shop", "shop.1"),
            (2, "shop", "shop.1"),
            (3, "shop", "shop.1"),
            (4, "shop", "shop.1"),
            (5, "shop", "shop.5"),
            (6, "shop", "shop.5"),
        ]
        assert rows(path, "SELECT id, name, team FROM apps") == [("shop.5", "shop", "globex")]
    for table in ("deployments", "audit", "apps", "webhook_deliveries"):
        assert rows(tmp_path / "incremental.db", f"SELECT * FROM {table}") == rows(
            tmp_path / "rebuilt.db", f"SELECT * FROM {table}"
        )
