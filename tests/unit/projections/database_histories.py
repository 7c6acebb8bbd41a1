"""Generated histories of managed databases, their backups, restores and a team's backup
targets, made through the domain's decisions as the services make them (the reactors' facts
appended as the reactors record them: with the database's team and id), and the states the
domain folds from them."""

from __future__ import annotations

from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain import backups, databases, projects, teams
from rivetr.domain.backups import BackupState, RestoreState, TargetsState
from rivetr.domain.commands import CreateProject
from rivetr.domain.database_commands import (
    RemoveBackupTarget,
    ResealDatabasePasswords,
    SetBackupSchedules,
    SetBackupTarget,
    UpgradeDatabase,
)
from rivetr.domain.database_events import (
    BackupDeleted,
    BackupFailed,
    BackupReadBack,
    BackupRequested,
    BackupStored,
    BackupTargetRemoved,
    BackupTargetSet,
    BackupVerified,
    DatabaseFailed,
    DatabasePasswordRotated,
    DatabaseRunning,
    DatabaseStopped,
    DatabaseUpgraded,
    DatabaseUpgradeFailed,
    DatabaseUpgradeRequested,
    RestoreCompleted,
    RestoreFailed,
    RestoreRequested,
)
from rivetr.domain.databases import DatabaseState
from rivetr.domain.errors import DomainError
from rivetr.domain.event_base import Event
from rivetr.domain.projects import ProjectState
from tests.unit.projections.database_steps import (
    BackUp,
    BackupStep,
    Create,
    Fact,
    Restore,
    RestoreDone,
)


class World(msgspec.Struct):
    """What the domain folds from the history, and what the views must say of it."""

    databases: dict[str, DatabaseState] = msgspec.field(default_factory=dict)
    backups: dict[str, BackupState] = msgspec.field(default_factory=dict)  # in order asked
    restores: dict[str, RestoreState] = msgspec.field(default_factory=dict)
    targets: dict[str, TargetsState] = msgspec.field(default_factory=dict)
    projects: dict[tuple[str, str], ProjectState] = msgspec.field(default_factory=dict)
    upgrades: dict[str, DatabaseUpgradeRequested] = msgspec.field(default_factory=dict)
    verified_at: dict[str, int] = msgspec.field(default_factory=dict)  # backup -> position

    def database(self, database_id: str) -> DatabaseState:
        return self.databases.get(database_id) or DatabaseState(database_id=database_id)

    def resolve(self, database_id: str) -> str:
        """`database_id` if it is alive, else the first that is (so that most generated steps
        act on a database there is), else `database_id`."""
        alive = sorted(d for d, s in self.databases.items() if s.exists and not s.deleted)
        return database_id if database_id in alive or not alive else alive[0]

    def team_targets(self, team: str) -> TargetsState:
        return self.targets.get(team) or TargetsState(team=team)

    def project(self, team: str, project: str) -> ProjectState:
        return self.projects.get((team, project)) or projects.initial_state(team, project)

    def picked(self, pick: int, among: dict[str, Any]) -> str | None:
        return sorted(among)[pick % len(among)] if among else None

    def newest_verified(self, database_id: str) -> str | None:
        """Its backup verified last in the log, not deleted."""
        kept = [
            (self.verified_at[b], b)
            for b, state in self.backups.items()
            if state.request is not None
            and state.request.database_id == database_id
            and state.status == "verified"
            and not state.deleted
        ]
        return max(kept)[1] if kept else None


async def play_step(store: InMemoryEventStore, world: World, step: Any, meta: EventMeta) -> None:
    """Decide `step` as the service (or report it as the reactor) would, append what comes of
    it and fold it into `world`; a refusal appends nothing."""
    if hasattr(step, "database_id") and not isinstance(step, Create):
        step = msgspec.structs.replace(step, database_id=world.resolve(step.database_id))
    if isinstance(step, Restore) and step.into is not None:
        step = msgspec.structs.replace(step, into=world.resolve(step.into))
    try:
        for stream_id, events, about in _decide(world, step):
            if not events:
                continue
            team = about.team if about is not None else getattr(step, "team", None)
            resource = about.database_id if about is not None else None
            told = msgspec.structs.replace(meta, team=team, resource=resource)
            recorded = await store.append(stream_id, None, events, told)
            for event, logged in zip(events, recorded, strict=True):
                _fold(world, event, logged.position)
    except DomainError:
        return


Decided = list[tuple[str, list[Event], DatabaseState | None]]


def _decide(world: World, step: Any) -> Decided:
    match step:
        case Create(database_id=d, command=c, starts=starts):
            new = databases.Provisioned(
                database_id=d,
                version=databases.DEFAULT_VERSIONS[c.kind],
                image=databases.image_for(c.kind, databases.DEFAULT_VERSIONS[c.kind]),
                port=databases.PORTS[c.kind],
                user="app",
                database="app",
                password=f"sealed-{d}",
            )
            home = world.project(c.team or "default", c.project)
            events = databases.decide_create(world.database(d), home, c, new)
            state = databases.evolve(world.database(d), events[0])
            running = DatabaseRunning(database_id=d, container=f"c-{d}", image=state.image)
            return [
                (databases.stream_id(d), events, state),
                (databases.stream_id(d), [running] if starts else [], state),
            ]
        case Fact():
            return _fact(world, step)
        case UpgradeDatabase():
            state = world.database(step.database_id)
            image = databases.image_for(state.kind, step.version)
            events = databases.decide_upgrade(state, step, f"u{len(world.upgrades)}", image)
            return [(databases.stream_id(step.database_id), events, state)]
        case SetBackupSchedules():
            state = world.database(step.database_id)
            databases.require(state)
            for schedule in step.schedules:  # as the service checks them
                backups.target(world.team_targets(state.team), schedule.target)
            return [(databases.stream_id(state.database_id), databases.decide(state, step), state)]
        case BackUp():
            return _back_up(world, step)
        case BackupStep():
            return _backup_step(world, step)
        case Restore():
            return _restore(world, step)
        case RestoreDone(pick=pick, ok=ok):
            restore_id = world.picked(pick, world.restores)
            restore = world.restores[restore_id] if restore_id else None
            if restore is None or restore.request is None or restore.status != "requested":
                return []
            done: Event = (
                RestoreCompleted(restore_id=restore.restore_id, counts={"t": 1})
                if ok
                else RestoreFailed(restore_id=restore.restore_id, reason="check: 0 rows, not 1")
            )
            into = world.database(restore.request.database_id)
            return [(backups.restore_stream(restore.restore_id), [done], into)]
        case SetBackupTarget() | RemoveBackupTarget():
            assert step.team is not None
            used_by = [
                s.name
                for s in world.databases.values()
                if s.team == step.team and not s.deleted
                if any(schedule.target == step.name for schedule in s.schedules)
            ]
            events = backups.decide_target(world.team_targets(step.team), step, used_by)
            return [(teams.stream_id(step.team), events, None)]
        case ResealDatabasePasswords():
            state = world.database(step.database_id)
            held = (state.password, state.root_password, state.pending_password)
            pending = None if state.pending_password is None else step.pending_password
            step = msgspec.structs.replace(step, pending_password=pending, resealing=held)
            return [(databases.stream_id(state.database_id), databases.decide(state, step), state)]
        case CreateProject():
            events = projects.decide(world.project(step.team, step.project), step)
            return [(projects.stream_id(projects.key(step.team, step.project)), events, None)]
        case _:
            state = world.database(step.database_id)
            return [(databases.stream_id(state.database_id), databases.decide(state, step), state)]


def _fact(world: World, step: Fact) -> Decided:
    state = world.database(step.database_id)
    if not state.exists or state.deleted:
        return []
    d = state.database_id
    upgrade = world.upgrades.get(d)
    rotating = state.pending_password is not None
    fact: Event | None = None
    match step.what:
        case "running":
            fact = DatabaseRunning(database_id=d, container=f"c-{d}", image=state.image)
        case "stopped":
            fact = DatabaseStopped(database_id=d)
        case "crashed":
            fact = DatabaseFailed(database_id=d, during="start", reason="exited 1")
        case "rotated" if rotating:
            fact = DatabasePasswordRotated(database_id=d)
        case "rotate_failed" if rotating:
            fact = DatabaseFailed(database_id=d, during="rotate_password", reason="refused")
        case "upgraded" if upgrade is not None:
            fact = DatabaseUpgraded(
                database_id=d,
                upgrade_id=upgrade.upgrade_id,
                version=upgrade.version,
                image=upgrade.image,
            )
        case "upgrade_failed" | "rolled_back" if upgrade is not None:
            fact = DatabaseUpgradeFailed(
                database_id=d,
                upgrade_id=upgrade.upgrade_id,
                reason="no",
                rolled_back=step.what == "rolled_back",
            )
    return [(databases.stream_id(d), [fact], state)] if fact is not None else []


def _request(state: DatabaseState, backup_id: str, target: str, reason: Any) -> BackupRequested:
    return BackupRequested(
        backup_id=backup_id,
        database_id=state.database_id,
        team=state.team,
        project=state.project,
        environment=state.environment,
        kind=state.kind,
        image=state.image,
        target=target,
        reason=reason,
        verify=state.verify_backups,
    )


def _back_up(world: World, step: BackUp) -> Decided:
    state = world.database(step.database_id)
    databases.require(state)
    if state.status != "running" or step.backup_id in world.backups:
        return []  # refused: not running, or an id used before
    backups.target(world.team_targets(state.team), step.target)
    requested = _request(state, step.backup_id, step.target, "on_demand")
    return [(backups.backup_stream(step.backup_id), [requested], state)]


def _backup_step(world: World, step: BackupStep) -> Decided:
    backup_id = world.picked(step.pick, world.backups)
    if backup_id is None:
        return []
    backup = world.backups[backup_id]
    assert backup.request is not None
    about = world.database(backup.request.database_id)
    stream = backups.backup_stream(backup_id)
    if step.delete:
        deleted = [] if backup.deleted else [BackupDeleted(backup_id=backup_id, reason="asked")]
        return [(stream, deleted, about)]
    next_step: dict[str, tuple[Event, Any]] = {
        "requested": (
            BackupStored(backup_id=backup_id, key=f"k/{backup_id}", size=3, sha256="s"),
            "dump",
        ),
        "stored": (BackupReadBack(backup_id=backup_id, size=3, sha256="s"), "read_back"),
        "read_back": (BackupVerified(backup_id=backup_id, counts={"t": 1}), "check"),
    }
    if backup.status not in next_step:
        return []  # it ended
    event, where = next_step[backup.status]
    if step.fail:
        event = BackupFailed(backup_id=backup_id, step=where, reason="it broke")
    return [(stream, [event], about)]


def _restore(world: World, step: Restore) -> Decided:
    backup_id = world.picked(step.pick, world.backups)
    if backup_id is None or step.restore_id in world.restores:
        return []
    backup = world.backups[backup_id]
    assert backup.request is not None
    into = world.database(step.into or backup.request.database_id)
    databases.require(into)
    if not backup.usable or backup.request.kind != into.kind or into.status != "running":
        return []  # the service refuses it
    decided: Decided = []
    safety_id = None
    if into.database_id == backup.request.database_id:
        safety_id = f"safety-{step.restore_id}"
        safety = _request(into, safety_id, backups.LOCAL, "before_restore")
        decided.append((backups.backup_stream(safety_id), [safety], into))
    requested = RestoreRequested(
        restore_id=step.restore_id,
        backup_id=backup_id,
        database_id=into.database_id,
        safety_backup_id=safety_id,
    )
    return [*decided, (backups.restore_stream(step.restore_id), [requested], into)]


def _fold(world: World, event: Event, position: int) -> None:
    match event:
        case BackupRequested() | BackupStored() | BackupReadBack() | BackupVerified():
            b = event.backup_id
            world.backups[b] = backups.evolve_backup(
                world.backups.get(b) or BackupState(backup_id=b), event
            )
            if isinstance(event, BackupVerified):
                world.verified_at[b] = position
        case BackupFailed() | BackupDeleted():
            world.backups[event.backup_id] = backups.evolve_backup(
                world.backups[event.backup_id], event
            )
        case RestoreRequested() | RestoreCompleted() | RestoreFailed():
            r = event.restore_id
            world.restores[r] = backups.evolve_restore(
                world.restores.get(r) or RestoreState(restore_id=r), event
            )
        case _ if hasattr(event, "database_id"):
            d = getattr(event, "database_id")  # noqa: B009
            world.databases[d] = databases.evolve(world.database(d), event)
            if isinstance(event, DatabaseUpgradeRequested):
                world.upgrades[d] = event
            elif isinstance(event, DatabaseUpgraded | DatabaseUpgradeFailed):
                world.upgrades.pop(d, None)
        case BackupTargetSet() | BackupTargetRemoved():
            world.targets[event.team] = backups.evolve_targets(
                world.team_targets(event.team), event
            )
        case _:  # a project's
            team, project = getattr(event, "team"), getattr(event, "project")  # noqa: B009
            world.projects[(team, project)] = projects.evolve(world.project(team, project), event)
