"""A team's channels as the domain decides them, and what each event tells which channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rivetr.domain import notices, notifications
from rivetr.domain.control_plane_events import ControlPlaneBackupFailed, ControlPlaneBackupVerified
from rivetr.domain.database_events import BackupFailed, BackupVerified
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import (
    CertificateFailed,
    DeploymentFailed,
    EngineConnected,
    EngineLost,
    ReleaseRestarted,
    RolledBack,
    TeamCreated,
    TeamDeleted,
    TrafficSwitched,
)
from rivetr.domain.host_events import (
    HostStorageFailed,
    HostStorageRecovered,
    HostThresholdCrossed,
    HostThresholdRecovered,
)
from rivetr.domain.job_events import JobRunFinished
from rivetr.domain.notices import Placement
from rivetr.domain.notification_commands import RemoveChannel, SetChannel
from rivetr.domain.notification_events import ChannelRemoved, ChannelSet
from rivetr.domain.stack_events import StackReleaseFailed

SLACK = "slack://T1/B2/C3"
PLACE = Placement(team="acme", project="shop", environment="production", app="web")


def setting(**given: object) -> SetChannel:
    fields: dict[str, object] = {
        "team": "acme",
        "name": "alerts",
        "kind": "slack",
        "url": SLACK,
        "on": ["deployment.failed"],
    }
    return SetChannel(**{**fields, **given})  # type: ignore[arg-type]


def made(state: notifications.TeamChannels, command: SetChannel) -> ChannelSet:
    [event] = notifications.decide(state, command, "newid", "sealed-fresh")
    assert isinstance(event, ChannelSet)
    return event


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("email", "mailto://user:pass@example.com"),
        ("slack", "https://hooks.slack.com/services/T/B/C"),
        ("discord", "discord://1/abc"),
        ("telegram", "tgram://1:abc/2"),
        ("mattermost", "mmosts://chat.example.com/token"),
        ("teams", "workflows://prod.example.com/a/b"),
        ("ntfy", "ntfys://topic"),
        ("gotify", "gotify://push.example.com/token"),
        ("pushover", "pover://user@token"),
        ("webhook", "https://hooks.example.com/rivetr"),
    ],
)
def test_each_kind_takes_its_own_urls(kind: str, url: str) -> None:
    notifications.check_url(kind, url)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "url", "said"),
    [
        ("slack", "discord://1/abc", "not discord://"),
        ("pushover", "https://api.pushover.net/", "starts with one of pover://"),
        ("webhook", "file:///etc/passwd", "not file://"),
        ("email", "not a url", "mailto://, mailtos://"),
    ],
)
def test_a_url_the_kind_never_takes_is_refused_naming_what_it_takes(
    kind: str, url: str, said: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        notifications.check_url(kind, url)  # type: ignore[arg-type]
    assert refused.value.field == "url"
    assert said in str(refused.value)


def test_a_channel_is_told_something_but_never_subscribes_to_the_test() -> None:
    state = notifications.TeamChannels(team="acme")
    with pytest.raises(InvalidCommand, match="at least one"):
        made(state, setting(on=[]))
    with pytest.raises(InvalidCommand, match="leave 'test' out"):
        made(state, setting(on=["test"]))


def test_a_webhook_keeps_its_secret_until_a_new_one_is_asked_for() -> None:
    state = notifications.TeamChannels(team="acme")
    first = made(state, setting(kind="webhook", url="https://h.example.com/"))
    assert (first.channel_id, first.signing_secret) == ("newid", "sealed-fresh")
    state = notifications.evolve(state, first)

    [again] = notifications.decide(
        state, setting(kind="webhook", url="https://h.example.com/x"), "other", "fresher"
    )
    assert isinstance(again, ChannelSet)
    assert (again.channel_id, again.signing_secret) == ("newid", "sealed-fresh")
    [anew] = notifications.decide(
        state,
        setting(kind="webhook", url="https://h.example.com/", new_secret=True),
        "o",
        "fresher",
    )
    assert isinstance(anew, ChannelSet)
    assert anew.signing_secret == "fresher"
    assert made(state, setting()).signing_secret is None  # a slack channel has none


def test_a_removed_channel_is_gone_and_a_team_made_again_has_none() -> None:
    state = notifications.evolve(
        notifications.TeamChannels(team="acme"),
        made(notifications.TeamChannels(team="acme"), setting()),
    )
    [removed] = notifications.decide_removal(state, RemoveChannel(team="acme", name="alerts"))
    assert isinstance(removed, ChannelRemoved)
    assert notifications.evolve(state, removed).channels == {}
    with pytest.raises(NotFound, match="has no notification channel 'nope' \\(it has: alerts\\)"):
        notifications.decide_removal(state, RemoveChannel(team="acme", name="nope"))
    for ended in (TeamDeleted(team="acme"), TeamCreated(team="acme", name="A", owner="x")):
        assert notifications.evolve(state, ended).channels == {}


@pytest.mark.parametrize(
    ("event", "kind", "title", "said"),
    [
        (
            TrafficSwitched(deployment_id="d1", app="a", host_port=1),
            "deployment.succeeded",
            "web: deployed",
            "d1 passed",
        ),
        (
            DeploymentFailed(
                deployment_id="d1", step="build", reason="exit 2", log_tail=["l1", "l2"]
            ),
            "deployment.failed",
            "web: deployment failed",
            "stopped at build: exit 2\nLast lines of its log:\nl1\nl2",
        ),
        (
            StackReleaseFailed(release_id="r1", step="health", reason="503", service="api"),
            "deployment.failed",
            "web: deployment failed",
            "stopped at health of api: 503",
        ),
        (
            RolledBack(deployment_id="d2", app="a", to_deployment_id="d1", host_port=1),
            "deployment.rolled_back",
            "web: rolled back",
            "back on d1",
        ),
        (
            ReleaseRestarted(
                deployment_id="d1",
                app="a",
                reason="exit 137",
                container_id="c",
                container_name="n",
                host_port=1,
                healthy=False,
            ),
            "release.died",
            "web: the live release died",
            "did not pass",
        ),
        (
            BackupFailed(backup_id="b1", step="dump", reason="disk full"),
            "backup.failed",
            "web: backup failed",
            "disk full",
        ),
        (
            BackupVerified(backup_id="b1", seconds=4.2),
            "backup.verified",
            "web: backup verified",
            "(4 s)",
        ),
        (
            CertificateFailed(domain="a.example.com", app="web", source="acme", detail="no DNS"),
            "certificate.failed",
            "a.example.com: certificate failed",
            "no DNS",
        ),
    ],
)
def test_an_event_makes_a_notice_that_says_what_and_where(
    event: object, kind: str, title: str, said: str
) -> None:
    notice = notices.of_event(event, PLACE, 42, engine_was_lost=False)  # type: ignore[arg-type]
    assert notice is not None
    assert (notice.kind, notice.title, notice.team) == (kind, title, "acme")
    assert said in notice.body
    assert "Where: acme/shop/production" in notice.body
    assert notice.key("ch") == "42:ch"


def test_the_engine_is_the_instances_and_back_only_after_it_was_lost() -> None:
    lost = notices.of_event(EngineLost(reason="socket gone"), Placement(), 7, False)
    assert lost is not None
    assert (lost.kind, lost.team) == ("engine.lost", None)
    connected = EngineConnected(kind="docker", version="26", url="unix://")
    assert notices.of_event(connected, Placement(), 8, engine_was_lost=False) is None
    back = notices.of_event(connected, Placement(), 8, engine_was_lost=True)
    assert back is not None
    assert back.kind == "engine.back"
    root = made(
        notifications.TeamChannels(team="default"), setting(team="default", on=["engine.lost"])
    )
    other = made(notifications.TeamChannels(team="acme"), setting(on=["engine.lost"]))
    assert notices.wants(root, lost, "default")
    assert not notices.wants(other, lost, "default")


def test_a_channel_is_told_only_its_teams_kinds_projects_and_environments() -> None:
    notice = notices.of_event(
        DeploymentFailed(deployment_id="d", step="s", reason="r"), PLACE, 1, False
    )
    assert notice is not None
    state = notifications.TeamChannels(team="acme")
    assert notices.wants(made(state, setting()), notice, "default")
    assert not notices.wants(made(state, setting(on=["backup.failed"])), notice, "default")
    assert not notices.wants(made(state, setting(projects=["blog"])), notice, "default")
    assert notices.wants(
        made(state, setting(projects=["shop"], environments=["production"])), notice, "default"
    )
    assert not notices.wants(made(state, setting(environments=["staging"])), notice, "default")
    stranger = made(notifications.TeamChannels(team="zeta"), setting(team="zeta"))
    assert not notices.wants(stranger, notice, "default")


def test_an_expiring_certificate_is_one_reminder_per_certificate() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    not_after = (now + timedelta(days=10)).isoformat()
    reminder = notices.expiring("a.example.com", not_after, now, PLACE)
    assert reminder.title == "a.example.com: certificate expires in 10 days"
    assert reminder.key("ch") == f"expiring:a.example.com:{not_after}:ch"
    assert not reminder.failure
    assert notices.expiring(
        "a.example.com", (now + timedelta(hours=3)).isoformat(), now, PLACE
    ).failure


def run_finished(**given: object) -> JobRunFinished:
    fields: dict[str, object] = {
        "run_id": "r1",
        "job_id": "j1",
        "job": "nightly",
        "owner_id": "a1",
        "owner_name": "web",
        "outcome": "failed",
        "exit_code": 2,
        "duration_s": 3.2,
        "reason": "psql: connection refused",
    }
    return JobRunFinished(**{**fields, **given})  # type: ignore[arg-type]


def test_a_job_run_that_failed_for_good_is_told_once_its_retries_are_spent() -> None:
    notice = notices.of_event(run_finished(), PLACE, 9, False)
    assert notice is not None
    assert (notice.kind, notice.title, notice.failure) == (
        "job.failed",
        "web: job nightly failed",
        True,
    )
    assert "exit code 2" in notice.body
    assert "psql: connection refused" in notice.body
    timed_out = notices.of_event(
        run_finished(outcome="timed_out", exit_code=None, service="api"), PLACE, 9, False
    )
    assert timed_out is not None
    assert timed_out.title == "web/api: job nightly timed out"
    assert notices.of_event(run_finished(final=False), PLACE, 9, False) is None  # retried
    for outcome in ("succeeded", "skipped", "replaced"):
        assert notices.of_event(run_finished(outcome=outcome), PLACE, 9, False) is None


def test_a_host_threshold_is_the_instances_crossed_and_recovered() -> None:
    crossed = HostThresholdCrossed(
        metric="disk", value=93.4, threshold=90.0, window_s=300.0, recovers_below=85.0
    )
    told = notices.of_event(crossed, Placement(), 5, False)
    assert told is not None
    assert (told.kind, told.title, told.team, told.failure) == (
        "host.threshold",
        "Host disk at 93 %",
        None,
        True,
    )
    assert "back below 85 %" in told.body
    back = notices.of_event(
        HostThresholdRecovered(metric="disk", value=80.0, threshold=90.0, window_s=300.0),
        Placement(),
        6,
        False,
    )
    assert back is not None
    assert (back.title, back.failure) == ("Host disk back to 80 %", False)


def test_a_disk_that_refuses_writes_is_told_to_the_instance_and_so_is_its_recovery() -> None:
    since = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)
    failed = HostStorageFailed(
        kind="full", folder="/var/lib/rivetr", reason="database or disk is full", since=since
    )
    told = notices.of_event(failed, Placement(), 5, False)
    assert told is not None
    assert (told.kind, told.title, told.team, told.failure) == (
        "host.storage",
        "Disk full: /var/lib/rivetr",
        None,
        True,
    )
    assert "since 2026-12-03 19:00 UTC" in told.body
    back = notices.of_event(
        HostStorageRecovered(kind="full", folder="/var/lib/rivetr", refused=12, since=since),
        Placement(),
        6,
        False,
    )
    assert back is not None
    assert (back.kind, back.failure) == ("host.storage", False)
    assert "12 changes were refused" in back.body


def test_the_control_planes_backups_are_told_as_backups_to_the_instances_team() -> None:
    failed = ControlPlaneBackupFailed(backup_id="c1", step="store", reason="the bucket is gone")
    told = notices.of_event(failed, Placement(), 7, False)
    assert told is not None
    assert (told.kind, told.team, told.failure) == ("backup.failed", None, True)
    assert "failed at store: the bucket is gone" in told.body
    verified = ControlPlaneBackupVerified(backup_id="c2", events=1234, seconds=2.0)
    good = notices.of_event(verified, Placement(), 8, False)
    assert good is not None
    assert (good.kind, good.failure) == ("backup.verified", False)
    assert "1234 events verified" in good.body
