"""What a notice says: the events of the log worth telling a team about, each made into a title
and a few lines, with the place (team, project, environment) its channels filter by. Pure: the
notifier hands in where the event happened, as the audit read it."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from rivetr.domain.control_plane_events import ControlPlaneBackupFailed, ControlPlaneBackupVerified
from rivetr.domain.database_events import BackupFailed, BackupVerified
from rivetr.domain.events import (
    CertificateFailed,
    DeploymentFailed,
    EngineConnected,
    EngineLost,
    Event,
    ReleaseRestarted,
    ReleaseRestartFailed,
    RolledBack,
    TrafficSwitched,
)
from rivetr.domain.host_events import (
    HostStorageFailed,
    HostStorageRecovered,
    HostThresholdCrossed,
    HostThresholdRecovered,
)
from rivetr.domain.job_events import JobRunFinished
from rivetr.domain.notification_events import ChannelSet, NoticeKind
from rivetr.domain.notifications import INSTANCE_NOTICES
from rivetr.domain.replica_events import TrafficBalanced
from rivetr.domain.stack_events import StackReleaseFailed, StackSwitched

_STORAGE: Final = {"full": "full", "read_only": "read-only", "io": "failing"}
LOG_LINES = 10  # of a failed deployment's log, the last ones a notice carries
# the events a notice may be made of: the notifier decodes no other
TOLD: Final = frozenset(
    cls.__struct_config__.tag
    for cls in (
        TrafficSwitched,
        TrafficBalanced,
        StackSwitched,
        DeploymentFailed,
        StackReleaseFailed,
        RolledBack,
        ReleaseRestarted,
        ReleaseRestartFailed,
        BackupFailed,
        BackupVerified,
        CertificateFailed,
        EngineLost,
        EngineConnected,
        JobRunFinished,
        HostThresholdCrossed,
        HostThresholdRecovered,
        HostStorageFailed,
        HostStorageRecovered,
        ControlPlaneBackupFailed,
        ControlPlaneBackupVerified,
    )
)
ENGINE_EVENTS: Final = frozenset({"engine.lost", "engine.connected"})


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """Where an event happened: its team (None: the instance's own, as the engine's), and the
    app, stack or database it is about, with that resource's project and environment."""

    team: str | None = None
    project: str | None = None
    environment: str | None = None
    app: str | None = None
    stack: str | None = None
    database: str | None = None

    def resource(self) -> str:
        return self.app or self.stack or self.database or "?"

    def where(self) -> str:
        parts = [p for p in (self.team, self.project, self.environment) if p]
        return "/".join(parts)


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    kind: NoticeKind
    title: str
    body: str
    failure: bool  # told as a failure (a red message where the service has colours)
    team: str | None
    project: str | None = None
    environment: str | None = None
    source_position: int | None = None  # the event told of
    subject: str  # what the key names besides the channel: "<position>" or a reminder's own

    def key(self, channel_id: str) -> str:
        return f"{self.subject}:{channel_id}"


def of_event(event: Event, place: Placement, position: int, engine_was_lost: bool) -> Notice | None:
    """The notice `event` makes, or None for an event no channel is told of. `engine_was_lost`:
    the last engine event before this one was a loss (a connection after one is "back")."""
    told = _told(event, place, engine_was_lost)
    if told is None:
        return None
    kind, title, lines, failure = told
    where = place.where()
    body = "\n".join([*lines, *([f"Where: {where}"] if where else [])])
    return Notice(
        kind=kind,
        title=title,
        body=body,
        failure=failure,
        team=None if kind in INSTANCE_NOTICES else place.team,
        project=place.project,
        environment=place.environment,
        source_position=position,
        subject=str(position),
    )


def _told(
    event: Event, place: Placement, engine_was_lost: bool
) -> tuple[NoticeKind, str, list[str], bool] | None:
    name = place.resource()
    match event:
        case TrafficSwitched():
            lines = [f"Deployment {event.deployment_id} passed its health check and is live."]
            return "deployment.succeeded", f"{name}: deployed", lines, False
        case TrafficBalanced():
            copies = len(event.members)
            lines = [
                f"Deployment {event.deployment_id} is live: {copies} copies passed their health"
                f" check, on {', '.join(sorted({m.node for m in event.members}))}."
            ]
            return "deployment.succeeded", f"{name}: deployed", lines, False
        case StackSwitched():
            lines = [f"Release {event.release_id} of the stack is live."]
            return "deployment.succeeded", f"{name}: deployed", lines, False
        case DeploymentFailed():
            lines = [f"Deployment {event.deployment_id} stopped at {event.step}: {event.reason}"]
            return "deployment.failed", f"{name}: deployment failed", _with_log(lines, event), True
        case StackReleaseFailed():
            at = f"{event.step} of {event.service}" if event.service else event.step
            lines = [f"Release {event.release_id} stopped at {at}: {event.reason}"]
            return "deployment.failed", f"{name}: deployment failed", _with_log(lines, event), True
        case RolledBack():
            back_to = event.to_deployment_id or "nothing (no earlier release)"
            lines = [f"Deployment {event.deployment_id} failed live; traffic is back on {back_to}."]
            return "deployment.rolled_back", f"{name}: rolled back", lines, True
        case ReleaseRestarted():
            state = "and passed" if event.healthy else "but did not pass"
            lines = [
                f"The live release {event.deployment_id} died ({event.reason}).",
                f"It was started again {state} its health check.",
            ]
            return "release.died", f"{name}: the live release died", lines, not event.healthy
        case ReleaseRestartFailed():
            lines = [
                f"The live release {event.deployment_id} died and could not be started again:"
                f" {event.reason}"
            ]
            return "release.died", f"{name}: the live release died", lines, True
        case BackupFailed():
            lines = [f"Backup {event.backup_id} stopped at {event.step}: {event.reason}"]
            return "backup.failed", f"{name}: backup failed", lines, True
        case BackupVerified():
            lines = [
                f"Backup {event.backup_id} was restored into a throwaway copy, which came up"
                f" healthy ({event.seconds:.0f} s)."
            ]
            return "backup.verified", f"{name}: backup verified", lines, False
        case CertificateFailed():
            lines = [f"No certificate for {event.domain}: {event.detail}"]
            return "certificate.failed", f"{event.domain}: certificate failed", lines, True
        case EngineLost():
            lines = [f"Rivetr lost its container engine: {event.reason}"]
            return "engine.lost", "Container engine lost", lines, True
        case JobRunFinished() if event.final and event.outcome in ("failed", "timed_out"):
            return "job.failed", *_job_failed(event), True
        case HostThresholdCrossed():
            lines = [
                f"The host's {event.metric} use averaged {event.value:.0f} % over"
                f" {event.window_s:.0f} s, at or above its threshold of {event.threshold:.0f} %.",
                f"You will be told once it is back below {event.recovers_below:.0f} %.",
            ]
            title = f"Host {event.metric} at {event.value:.0f} %"
            return "host.threshold", title, lines, True
        case HostThresholdRecovered():
            lines = [
                f"The host's {event.metric} use averaged {event.value:.0f} % over"
                f" {event.window_s:.0f} s, back below its threshold of {event.threshold:.0f} %."
            ]
            title = f"Host {event.metric} back to {event.value:.0f} %"
            return "host.threshold", title, lines, False
        case HostStorageFailed():
            lines = [
                f"Rivetr cannot write to {event.folder} ({_STORAGE[event.kind]}) since"
                f" {event.since:%Y-%m-%d %H:%M} UTC: {event.reason}.",
                "Changes are refused until it can; everything already recorded is kept, and"
                " reads go on.",
            ]
            return "host.storage", f"Disk {_STORAGE[event.kind]}: {event.folder}", lines, True
        case HostStorageRecovered():
            lines = [
                f"Rivetr writes to {event.folder} again; {event.refused} changes were refused"
                f" since {event.since:%Y-%m-%d %H:%M} UTC."
            ]
            return "host.storage", f"Disk writable again: {event.folder}", lines, False
        case ControlPlaneBackupFailed():
            lines = [
                f"The backup {event.backup_id} of Rivetr's own log, certificates and key failed"
                f" at {event.step}: {event.reason}"
            ]
            return "backup.failed", "Rivetr's control-plane backup failed", lines, True
        case ControlPlaneBackupVerified():
            lines = [
                f"The backup {event.backup_id} of Rivetr's own log, certificates and key was"
                f" restored into a scratch directory: its {event.events} events verified and its"
                f" read model rebuilt ({event.seconds:.0f} s)."
            ]
            return "backup.verified", "Rivetr's control-plane backup verified", lines, False
        case EngineConnected() if engine_was_lost:
            lines = [f"Rivetr reaches its container engine again ({event.kind} {event.version})."]
            return "engine.back", "Container engine back", lines, False
    return None


def _job_failed(event: JobRunFinished) -> tuple[str, list[str]]:
    """The title and lines of a scheduled job's run that failed for good."""
    owner = f"{event.owner_name}/{event.service}" if event.service else event.owner_name
    how = "timed out" if event.outcome == "timed_out" else "failed"
    lines = [f"The run {event.run_id} of the job {event.job} {how} after {event.duration_s:.0f} s"]
    if event.exit_code is not None:
        lines[0] += f" (exit code {event.exit_code})"
    lines[0] += f", attempt {event.attempt}."
    if event.reason:
        lines.append(event.reason)
    return f"{owner}: job {event.job} {how}", lines


def _with_log(lines: list[str], event: DeploymentFailed | StackReleaseFailed) -> list[str]:
    tail = event.log_tail[-LOG_LINES:]
    return [*lines, *(["Last lines of its log:", *tail] if tail else [])]


def expiring(domain: str, not_after: str, now: datetime, place: Placement) -> Notice:
    """A reminder that the certificate for `domain` expires soon; one per certificate (a
    renewed one has another `not_after`)."""
    days = (datetime.fromisoformat(not_after) - now).total_seconds() / 86400
    when = f"in {days:.0f} days" if days >= 1 else "within a day"
    return Notice(
        kind="certificate.expiring",
        title=f"{domain}: certificate expires {when}",
        body="\n".join(
            [
                f"The certificate for {domain} expires {when} ({not_after}) and has not been"
                " renewed yet.",
                *([f"Where: {place.where()}"] if place.where() else []),
            ]
        ),
        failure=days < 7,
        team=place.team,
        project=place.project,
        environment=place.environment,
        subject=f"expiring:{domain}:{not_after}",
    )


def test_notice(team: str, channel: str, at: str) -> Notice:
    return Notice(
        kind="test",
        title=f"Rivetr: a test of {channel}",
        body=f"This is a test notice from Rivetr, sent to the channel {channel} of {team}.",
        failure=False,
        team=team,
        subject=f"test:{at}",
    )


def wants(channel: ChannelSet, notice: Notice, instance_team: str) -> bool:
    """Whether `channel` is told `notice`: it subscribes to the kind; the notice is of its team
    (a notice of the instance, of no team, goes to the instance's own team); and of a project and an
    environment the channel lists (or it lists none)."""
    if notice.kind not in channel.on:
        return False
    if (notice.team or instance_team) != channel.team:
        return False
    if channel.projects and notice.project not in channel.projects:
        return False
    return not channel.environments or notice.environment in channel.environments
