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
    RollbackStarted,
    RolledBack,
    TrafficSwitched,
    WebhookReceived,
)
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.service.metrics import recorded
from tests.unit.projections.test_certificates_view import installed
from tests.unit.service.metrics.scraped import scraped

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


def requested(deployment_id: str) -> DeploymentRequested:
    return DeploymentRequested(deployment_id=deployment_id, app="web", app_id="a1", branch="main")


def went_live(history: History, deployment_id: str, at: float) -> None:
    """A retained image's way: started, healthy, switched at `at`."""
    started = ContainerStarted(
        deployment_id=deployment_id,
        container_id="c" * 64,
        container_name=f"rivetr-web-{deployment_id}",
        image="rivetr/web:d1",
        host_port=30000,
        duration_ms=1.0,
    )
    history.add(started, at - 10, "a1")
    history.add(DeploymentHealthy(deployment_id=deployment_id, probes=1, duration_ms=1), at, "a1")
    history.add(TrafficSwitched(deployment_id=deployment_id, app="web", host_port=30000), at, "a1")


async def test_deployments_count_by_result_and_time_from_request_to_live_or_failure(world):
    history, read = world
    history.add(AppCreated(app_id="a1", name="web", git_url="https://x/y.git"), resource="a1")
    history.add(requested("d1"), 0, "a1")
    went_live(history, "d1", 20)
    history.add(requested("d2"), 100, "a1")
    history.add(DeploymentFailed(deployment_id="d2", step="build", reason="x"), 500, "a1")
    history.add(requested("d3"), 600, "a1")  # under way
    figures = recorded.Deployments()

    found = scraped(await figures.families(read))

    total, took = "rivetr_deployments_total", "rivetr_deployment_duration_seconds"
    assert found[f'{total}{{result="succeeded"}}'] == 1
    assert found[f'{total}{{result="failed"}}'] == 1
    assert found[f'{total}{{result="cancelled"}}'] == 0
    assert found["rivetr_deployments_in_progress"] == 1
    assert found["rivetr_deployment_rollbacks_total"] == 0
    assert found[f'{took}_bucket{{result="succeeded",le="15"}}'] == 0
    assert found[f'{took}_bucket{{result="succeeded",le="30"}}'] == 1
    assert found[f'{took}_sum{{result="succeeded"}}'] == pytest.approx(20, abs=0.01)
    assert found[f'{took}_bucket{{result="failed",le="300"}}'] == 0
    assert found[f'{took}_bucket{{result="failed",le="600"}}'] == 1
    assert found[f'{took}_bucket{{result="failed",le="+Inf"}}'] == 1
    assert found[f'{took}_count{{result="failed"}}'] == 1

    # d3 goes live in 2 s and d1 is rolled back to: still counted as having gone live once
    went_live(history, "d3", 602)
    rollback = RollbackStarted(deployment_id="d3", to_deployment_id="d1", reason="died")
    history.add(rollback, 700, "a1")
    history.add(RolledBack(deployment_id="d3", app="web", to_deployment_id="d1", host_port=1), 701)

    again = scraped(await figures.families(read))

    assert again[f'{total}{{result="succeeded"}}'] == 2
    assert again["rivetr_deployment_rollbacks_total"] == 1
    assert again["rivetr_deployments_in_progress"] == 0
    assert again[f'{took}_bucket{{result="succeeded",le="5"}}'] == 1  # read again: d3 ended
    assert again[f'{took}_count{{result="succeeded"}}'] == 2


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

    assert scraped(await recorded.webhooks(read)) == {
        'rivetr_webhook_deliveries_total{decision="deploy"}': 1,
        'rivetr_webhook_deliveries_total{decision="ignored"}': 2,
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

    now = datetime.fromtimestamp(T0.timestamp() + 660, UTC)
    found = scraped(await recorded.backups(read, now))

    assert found['rivetr_backups_total{result="verified"}'] == 1
    assert found['rivetr_backups_total{result="failed"}'] == 1
    assert found['rivetr_backups_total{result="stored"}'] == 0
    age = 'rivetr_backup_last_verified_age_seconds{database="pg",database_id="db1",team="default"}'
    assert found[age] == pytest.approx(600)


async def test_each_domains_certificate_expiry_is_unix_time(world):
    history, read = world
    history.add(installed("aa"), resource="a1")  # shop.test, until 2027-01-30
    expected = datetime(2027, 1, 30, tzinfo=UTC).timestamp()
    assert scraped(await recorded.certificates(read)) == {
        'rivetr_certificate_expiry_timestamp_seconds{domain="shop.test"}': expected
    }


async def test_apps_are_counted(world):
    history, read = world
    history.add(AppCreated(app_id="a1", name="web", git_url="https://x/y.git"), resource="a1")
    assert scraped(await recorded.apps(read)) == {"rivetr_apps": 1}
