"""The metrics the log records, read from a read model built from events with the times they
were recorded at: deployments by result with their durations in buckets, webhook deliveries by
decision, backups by result and the age of the last verified one, certificate expiry."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rivetr.adapters.eventstore.base import LoggedEvent
from rivetr.domain import codec
from rivetr.domain.database_events import (
    BackupFailed,
    BackupRequested,
    BackupVerified,
    DatabaseCreated,
)
from rivetr.domain.events import (
    AppCreated,
    ContainerStarted,
    DeploymentFailed,
    DeploymentHealthy,
    DeploymentRequested,
    Event,
    TrafficSwitched,
    WebhookReceived,
)
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.service.metrics import recorded
from rivetr.service.metrics.exposition import Family, render
from tests.unit.projections.test_certificates_view import installed

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class History:
    """Events applied straight to every projection's tables, each at the time given."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.projections = all_projections()
        for projection in self.projections:
            projection.create(self.conn)
        self.position = 0

    def add(self, event: Event, seconds: float = 0, resource: str | None = None) -> None:
        self.position += 1
        tag, version, data = codec.encode(event)
        at = datetime.fromtimestamp(T0.timestamp() + seconds, UTC)
        logged = LoggedEvent(
            self.position,
            f"s-{self.position}",
            1,
            tag,
            version,
            data,
            at.isoformat(timespec="microseconds"),
            "tester",
            None,
            None,
            None,
            resource,
        )
        for projection in self.projections:
            if projection.handles is None or tag in projection.handles:
                projection.apply(self.conn, logged)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[History, ReadModel]]:
    history = History(tmp_path / "read.db")
    read = await ReadModel.open(tmp_path / "read.db")
    yield history, read
    await read.close()
    history.conn.close()


def samples(families: list[Family], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    [family] = [f for f in families if f.name == name]
    return {(*s.labels, ("", s.suffix)): s.value for s in family.samples}


def requested(deployment_id: str) -> DeploymentRequested:
    return DeploymentRequested(deployment_id=deployment_id, app="web", app_id="a1", branch="main")


async def test_deployments_count_by_result_and_time_from_request_to_live_or_failure(world):
    history, read = world
    history.add(AppCreated(app_id="a1", name="web", git_url="https://x/y.git"), resource="a1")
    history.add(requested("d1"), 0, "a1")
    started = ContainerStarted(
        deployment_id="d1",
        container_id="c" * 64,
        container_name="rivetr-web-d1",
        image="rivetr/web:d1",
        host_port=30000,
        duration_ms=1.0,
    )
    history.add(started, 10, "a1")
    history.add(DeploymentHealthy(deployment_id="d1", probes=1, duration_ms=1.0), 15, "a1")
    history.add(TrafficSwitched(deployment_id="d1", app="web", host_port=30000), 20, "a1")
    history.add(requested("d2"), 100, "a1")
    history.add(DeploymentFailed(deployment_id="d2", step="build", reason="x"), 500, "a1")
    history.add(requested("d3"), 600, "a1")  # under way

    families = await recorded.deployments(read)

    totals = samples(families, "rivetr_deployments_total")
    assert totals[(("result", "succeeded"), ("", ""))] == 1
    assert totals[(("result", "failed"), ("", ""))] == 1
    assert totals[(("result", "cancelled"), ("", ""))] == 0
    assert samples(families, "rivetr_deployments_in_progress") == {(("", ""),): 1}
    took = samples(families, "rivetr_deployment_duration_seconds")
    assert took[(("result", "succeeded"), ("le", "15"), ("", "_bucket"))] == 0
    assert took[(("result", "succeeded"), ("le", "30"), ("", "_bucket"))] == 1
    assert took[(("result", "succeeded"), ("", "_sum"))] == pytest.approx(20, abs=0.01)
    assert took[(("result", "failed"), ("le", "300"), ("", "_bucket"))] == 0
    assert took[(("result", "failed"), ("le", "600"), ("", "_bucket"))] == 1
    assert took[(("result", "failed"), ("le", "+Inf"), ("", "_bucket"))] == 1
    assert took[(("result", "failed"), ("", "_count"))] == 1
    assert "rivetr_deployment_duration_seconds_bucket" in render(families)


async def test_webhook_deliveries_count_by_decision(world):
    history, read = world
    for decision in ("deploy", "ignored", "ignored"):
        history.add(
            WebhookReceived(
                app="web",
                provider="github",
                event="push",
                delivery_id=None,
                signature="valid",
                decision=decision,
                reason="because",
            ),
            resource="a1",
        )

    families = await recorded.webhooks(read)

    assert samples(families, "rivetr_webhook_deliveries_total") == {
        (("decision", "deploy"), ("", "")): 1,
        (("decision", "ignored"), ("", "")): 2,
    }


async def test_backups_count_by_result_and_the_last_verified_ones_age(world):
    history, read = world
    history.add(
        DatabaseCreated(
            database_id="db1",
            name="pg",
            team="default",
            project="default",
            environment="production",
            kind="postgres",
            version="17",
            image="postgres:17",
            port=5432,
            user="u",
            database="d",
            password="rvs2:k:v",
        ),
        resource="db1",
    )
    for backup_id in ("b1", "b2"):
        history.add(
            BackupRequested(
                backup_id=backup_id,
                database_id="db1",
                team="default",
                project="default",
                environment="production",
                kind="postgres",
                image="postgres:17",
                target="local",
                reason="on_demand",
            ),
            resource="db1",
        )
    history.add(BackupVerified(backup_id="b1"), 60, "db1")
    history.add(BackupFailed(backup_id="b2", step="dump", reason="x"), 70, "db1")

    families = await recorded.backups(read, datetime.fromtimestamp(T0.timestamp() + 660, UTC))

    results = samples(families, "rivetr_backups_total")
    assert results[(("result", "verified"), ("", ""))] == 1
    assert results[(("result", "failed"), ("", ""))] == 1
    assert results[(("result", "stored"), ("", ""))] == 0
    ages = samples(families, "rivetr_backup_last_verified_age_seconds")
    labels = (("database", "pg"), ("database_id", "db1"), ("team", "default"), ("", ""))
    assert ages == {labels: pytest.approx(600)}


async def test_each_domains_certificate_expiry_is_unix_time(world):
    history, read = world
    history.add(installed("aa"), resource="a1")  # shop.test, until 2027-01-30
    families = await recorded.certificates(read)
    expected = datetime(2027, 1, 30, tzinfo=UTC).timestamp()
    assert samples(families, "rivetr_certificate_expiry_timestamp_seconds") == {
        (("domain", "shop.test"), ("", "")): expected
    }


async def test_apps_are_counted(world):
    history, read = world
    history.add(AppCreated(app_id="a1", name="web", git_url="https://x/y.git"), resource="a1")
    assert samples(await recorded.apps(read), "rivetr_apps") == {(("", ""),): 1}
