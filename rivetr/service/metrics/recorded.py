"""The metrics the log records, read from the read model at scrape time: apps, deployments by
result and how long they took, webhook deliveries by decision, backups by result and the age of
each database's last verified one, and when each domain's certificate expires. Counted from
the views, they survive restarts and agree with the dashboard."""

from __future__ import annotations

from datetime import datetime

from rivetr.projections.deployments import OutcomeView
from rivetr.projections.registry import ReadModel
from rivetr.service.metrics.exposition import Family, Sample, histogram

# seconds from a deployment's request to it going live (or failing): a cached image is seconds,
# a cold build minutes
DEPLOY_BUCKETS_S: tuple[float, ...] = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
# a deployment's status as the view has it -> the result it counts under; any other: under way
RESULTS = {
    "live": "succeeded",
    "superseded": "succeeded",
    "retired": "succeeded",
    "failed": "failed",
    "rolling_back": "rolled_back",
    "rolled_back": "rolled_back",
    "cancelled": "cancelled",
}
BACKUP_RESULTS = ("requested", "stored", "read_back", "verified", "failed")


async def apps(read: ReadModel) -> list[Family]:
    count = await read.apps.count()
    return [Family("rivetr_apps", "Applications on this instance.", "gauge", [Sample((), count)])]


class _Durations:
    """One result's deployment durations, summed over the statuses it covers."""

    def __init__(self) -> None:
        self.within = [0] * len(DEPLOY_BUCKETS_S)
        self.ended = 0  # the +Inf bucket: every one that ended, within a bound or not
        self.seconds = 0.0

    def add(self, outcome: OutcomeView) -> None:
        self.within = [a + b for a, b in zip(self.within, outcome.within, strict=True)]
        self.ended += outcome.ended
        self.seconds += outcome.seconds

    def samples(self, result: str) -> list[Sample]:
        cumulative = [*zip(DEPLOY_BUCKETS_S, self.within, strict=True), (float("inf"), self.ended)]
        return histogram((("result", result),), cumulative, self.seconds)


async def deployments(read: ReadModel) -> list[Family]:
    totals = dict.fromkeys(sorted(set(RESULTS.values())), 0)
    under_way = 0
    durations: dict[str, _Durations] = {}
    for outcome in await read.deployments.outcomes(DEPLOY_BUCKETS_S):
        result = RESULTS.get(outcome.status)
        if result is None:
            under_way += outcome.count
            continue
        totals[result] += outcome.count
        durations.setdefault(result, _Durations()).add(outcome)
    return [
        Family(
            "rivetr_deployments_total",
            "Deployments that ended, by result (a rollback counts as rolled_back).",
            "counter",
            [Sample((("result", result),), count) for result, count in totals.items()],
        ),
        Family(
            "rivetr_deployments_in_progress",
            "Deployments requested that have neither gone live nor failed yet.",
            "gauge",
            [Sample((), under_way)],
        ),
        Family(
            "rivetr_deployment_duration_seconds",
            "Time from a deployment's request to its traffic switch, or to its failure.",
            "histogram",
            [
                sample
                for result in totals
                if result in durations
                for sample in durations[result].samples(result)
            ],
        ),
    ]


async def webhooks(read: ReadModel) -> list[Family]:
    decisions = await read.webhooks.decisions()
    return [
        Family(
            "rivetr_webhook_deliveries_total",
            "Webhook deliveries received, by what was decided of each.",
            "counter",
            [Sample((("decision", decision),), count) for decision, count in decisions.items()],
        )
    ]


async def backups(read: ReadModel, now: datetime) -> list[Family]:
    results = dict.fromkeys(BACKUP_RESULTS, 0) | await read.databases.backup_results()
    ages = []
    for database in await read.databases.every():
        if database.last_verified_at is None:
            continue
        age = (now - datetime.fromisoformat(database.last_verified_at)).total_seconds()
        labels = (
            ("database", database.name),
            ("database_id", database.database_id),
            ("team", database.team),
        )
        ages.append(Sample(labels, max(age, 0.0)))
    return [
        Family(
            "rivetr_backups_total",
            "Database backups, by where each got to (verified: restored and checked).",
            "counter",
            [Sample((("result", result),), count) for result, count in results.items()],
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
                Sample((("domain", domain),), datetime.fromisoformat(at).timestamp())
                for domain, at in expiries.items()
            ],
        )
    ]
