"""The metrics the log records, read from the read model at scrape time: apps, deployments by
result and how long they took, webhook deliveries by decision, backups by result and the age of
each database's last verified one, and when each domain's certificate expires. Counted from
the views, they survive restarts and agree with the dashboard."""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import datetime
from itertools import accumulate

from rivetr.domain.deployment import IN_FLIGHT
from rivetr.projections.registry import ReadModel
from rivetr.service.metrics.exposition import Family, histogram, labels, sample

# seconds from a deployment's request to it going live (or failing): a cached image is seconds,
# a cold build minutes
DEPLOY_BUCKETS_S: tuple[float, ...] = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
# how a deployment that ended is counted: went live (whatever came after), or stopped first;
# each fixed once it happens, so every counter only grows
ENDINGS = {"live": "succeeded", "failed": "failed", "cancelled": "cancelled"}
ROLLED_BACK = ("rolling_back", "rolled_back")  # went live, then was rolled back
UNDER_WAY = frozenset(IN_FLIGHT)
BACKUP_RESULTS = ("requested", "stored", "read_back", "verified", "failed")


async def apps(read: ReadModel) -> list[Family]:
    count = await read.apps.count()
    return [Family("rivetr_apps", "Applications on this instance.", "gauge", [sample("", count)])]


class Deployments:
    """The deployment families. Their durations are read again only when a deployment has
    ended since the last scrape: an ended one's duration never changes, so the counts of those
    that ended say whether anything did (the read costs milliseconds with many deployments)."""

    def __init__(self) -> None:
        self._ended: tuple[int, ...] = ()
        self._durations: list[str] = []

    async def families(self, read: ReadModel) -> list[Family]:
        statuses = await read.deployments.statuses()
        totals = {
            "succeeded": await read.deployments.went_live(),
            "failed": statuses.get("failed", 0),
            "cancelled": statuses.get("cancelled", 0),
        }
        ended = tuple(totals.values())
        if ended != self._ended:
            self._durations = _durations(await read.deployments.durations())
            self._ended = ended
        return [
            Family(
                "rivetr_deployments_total",
                "Deployments that ended: went live (succeeded), failed or were cancelled first.",
                "counter",
                [sample(labels(("result", result)), count) for result, count in totals.items()],
            ),
            Family(
                "rivetr_deployment_rollbacks_total",
                "Deployments that went live and were then rolled back.",
                "counter",
                [sample("", sum(statuses.get(status, 0) for status in ROLLED_BACK))],
            ),
            Family(
                "rivetr_deployments_in_progress",
                "Deployments requested that have neither gone live nor failed yet.",
                "gauge",
                [sample("", sum(n for status, n in statuses.items() if status in UNDER_WAY))],
            ),
            Family(
                "rivetr_deployment_duration_seconds",
                "Time from a deployment's request to its traffic switch, or to its failure.",
                "histogram",
                self._durations,
            ),
        ]


def _durations(ended: list[tuple[str, float]]) -> list[str]:
    counts = {result: [0] * (len(DEPLOY_BUCKETS_S) + 1) for result in ENDINGS.values()}
    sums = dict.fromkeys(counts, 0.0)
    for ending, seconds in ended:
        result = ENDINGS.get(ending)
        if result is None or seconds is None:
            continue
        counts[result][bisect_left(DEPLOY_BUCKETS_S, seconds)] += 1
        sums[result] += seconds
    samples = []
    for result, buckets in counts.items():
        cumulative = list(zip((*DEPLOY_BUCKETS_S, math.inf), accumulate(buckets), strict=True))
        samples += histogram(labels(("result", result)), cumulative, sums[result])
    return samples


async def webhooks(read: ReadModel) -> list[Family]:
    decisions = await read.webhooks.decisions()
    return [
        Family(
            "rivetr_webhook_deliveries_total",
            "Webhook deliveries received, by what was decided of each.",
            "counter",
            [sample(labels(("decision", d)), count) for d, count in decisions.items()],
        )
    ]


async def backups(read: ReadModel, now: datetime) -> list[Family]:
    results = dict.fromkeys(BACKUP_RESULTS, 0) | await read.databases.backup_results()
    ages = []
    for database in await read.databases.every():
        if database.last_verified_at is None:
            continue
        age = (now - datetime.fromisoformat(database.last_verified_at)).total_seconds()
        named = labels(
            ("database", database.name),
            ("database_id", database.database_id),
            ("team", database.team),
        )
        ages.append(sample(named, max(age, 0.0)))
    return [
        Family(
            "rivetr_backups_total",
            "Database backups, by where each got to (verified: restored and checked).",
            "counter",
            [sample(labels(("result", result)), count) for result, count in results.items()],
        ),
        Family(
            "rivetr_backup_last_verified_age_seconds",
            "Seconds since each database's newest verified backup was verified.",
            "gauge",
            ages,
        ),
    ]


async def certificates(read: ReadModel) -> list[Family]:
    expiries = await read.certificates.expiries()
    return [
        Family(
            "rivetr_certificate_expiry_timestamp_seconds",
            "When each domain's certificate expires, in Unix time.",
            "gauge",
            [
                sample(labels(("domain", domain)), datetime.fromisoformat(at).timestamp())
                for domain, at in expiries.items()
            ],
        )
    ]
