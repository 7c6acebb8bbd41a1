"""One descriptor per aggregate: how a key names its stream, how that stream's history folds to
the state a decision is made on, and the decision its commands usually take. A service names an
aggregate and a key; the command handler reads, folds, decides and appends."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from rivetr.domain import (
    application,
    backups,
    certificates,
    claims,
    control_plane,
    databases,
    deployment,
    instance,
    job_runs,
    jobs,
    notifications,
    previews,
    projects,
    stack_allowances,
    stack_releases,
    stacks,
    swarm,
    teams,
    tokens,
    users,
    variables,
)
from rivetr.domain.events import Event

S = TypeVar("S")
C = TypeVar("C")

Decide = Callable[[S, C], list[Event]]


@dataclass(frozen=True, slots=True)
class Stream(Generic[S]):
    """One aggregate's stream, ready to be read: its id and the fold of its history."""

    stream_id: str
    fold: Callable[[Iterable[Event]], S]


@dataclass(frozen=True, slots=True)
class Aggregate(Generic[S, C]):
    name: str
    stream_id: Callable[[str], str]
    fold: Callable[[str, Iterable[Event]], S]
    # None where each command names its own decision (a sign-in and a session's end share nothing)
    decide: Decide[S, C] | None = None

    def at(self, key: str = "") -> Stream[S]:
        return Stream(self.stream_id(key), partial(self.fold, key))


def _claims_stream(_: str) -> str:
    return claims.STREAM


def _fold_claims(_: str, events: Iterable[Event]) -> claims.ClaimsState:
    return claims.fold(events)


def _nothing(_: str, events: Iterable[Event]) -> None:
    """Certificates are decided on their app's state, not on their own history."""
    return None


APPS: Aggregate[application.AppState, Any] = Aggregate(
    "app", application.stream_id, application.fold, application.decide
)
# A preview is an app: the same stream, folded with the gate a fork's head waits at.
PREVIEWS: Aggregate[tuple[application.AppState, previews.PreviewGate], Any] = Aggregate(
    "preview", application.stream_id, previews.fold
)
CLAIMS: Aggregate[claims.ClaimsState, Any] = Aggregate("claims", _claims_stream, _fold_claims)
DEPLOYMENTS: Aggregate[deployment.DeploymentState, Any] = Aggregate(
    "deployment", deployment.stream_id, deployment.fold
)
TEAMS: Aggregate[teams.TeamState, Any] = Aggregate(
    "team", teams.stream_id, teams.fold, teams.decide
)
TOKENS: Aggregate[tokens.TokenState, Any] = Aggregate(
    "token", tokens.stream_id, tokens.fold, tokens.decide
)
USERS: Aggregate[users.UserState, Any] = Aggregate("user", users.stream_id, users.fold)
CERTIFICATES: Aggregate[None, Any] = Aggregate("certificate", certificates.stream_id, _nothing)
PROJECTS: Aggregate[projects.ProjectState, Any] = Aggregate(
    "project", projects.stream_id, projects.fold, projects.decide
)
# shared variables: folded from the team's stream, and from the project's (its environments')
TEAM_VARIABLES: Aggregate[variables.TeamVariables, Any] = Aggregate(
    "team variables", teams.stream_id, variables.fold_team, variables.decide_team
)
PROJECT_VARIABLES: Aggregate[variables.ProjectVariables, Any] = Aggregate(
    "project variables", projects.stream_id, variables.fold_project, variables.decide_project
)
# the instance's settings changed while it runs: one stream, whatever the key
INSTANCE: Aggregate[instance.InstanceSettingsState, Any] = Aggregate(
    "instance", instance.stream_id, instance.fold, instance.decide
)
# the control plane's own backups and their schedules: one stream, whatever the key
CONTROL_PLANE: Aggregate[control_plane.ControlPlaneState, Any] = Aggregate(
    "control plane", control_plane.stream_id, control_plane.fold
)
# the instance's servers (its swarm): one stream, whatever the key
SWARM: Aggregate[swarm.SwarmState, Any] = Aggregate("swarm", swarm.stream_id, swarm.fold)
DATABASES: Aggregate[databases.DatabaseState, Any] = Aggregate(
    "database", databases.stream_id, databases.fold, databases.decide
)
BACKUPS: Aggregate[backups.BackupState, Any] = Aggregate(
    "backup", backups.backup_stream, backups.fold_backup
)
RESTORES: Aggregate[backups.RestoreState, Any] = Aggregate(
    "restore", backups.restore_stream, backups.fold_restore
)
# a team's backup targets: folded from the team's stream
BACKUP_TARGETS: Aggregate[backups.TargetsState, Any] = Aggregate(
    "backup targets", teams.stream_id, backups.fold_targets
)
# what an instance admin allows the team's stacks: folded from the team's stream; decided with
# the data directory, which the service hands in
STACK_ALLOWANCES: Aggregate[stack_allowances.TeamAllowances, Any] = Aggregate(
    "stack allowances", teams.stream_id, stack_allowances.fold
)
# a team's notification channels: folded from the team's stream
NOTIFICATION_CHANNELS: Aggregate[notifications.TeamChannels, Any] = Aggregate(
    "notification channels", teams.stream_id, notifications.fold
)
STACKS: Aggregate[stacks.StackState, Any] = Aggregate("stack", stacks.stream_id, stacks.fold)
STACK_RELEASES: Aggregate[stack_releases.StackReleaseState, Any] = Aggregate(
    "stack release", stack_releases.stream_id, stack_releases.fold
)
# the jobs of one app or stack (its id the key), and each run of one
JOBS: Aggregate[jobs.JobsState, Any] = Aggregate("jobs", jobs.stream_id, jobs.fold, jobs.decide)
JOB_RUNS: Aggregate[job_runs.RunState, Any] = Aggregate(
    "job run", job_runs.stream_id, job_runs.fold
)

ALL: tuple[Aggregate[Any, Any], ...] = (
    APPS,
    PREVIEWS,
    CLAIMS,
    DEPLOYMENTS,
    TEAMS,
    PROJECTS,
    TOKENS,
    USERS,
    CERTIFICATES,
    INSTANCE,
    CONTROL_PLANE,
    TEAM_VARIABLES,
    PROJECT_VARIABLES,
    DATABASES,
    BACKUPS,
    RESTORES,
    BACKUP_TARGETS,
    STACK_ALLOWANCES,
    STACKS,
    STACK_RELEASES,
    NOTIFICATION_CHANNELS,
    JOBS,
    JOB_RUNS,
)
