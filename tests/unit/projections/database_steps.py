"""The steps of generated database histories (a database made, told running, backed up, restored,
...), and how often each comes: what `database_histories.play_step` decides and appends."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

from rivetr.domain.commands import CreateProject
from rivetr.domain.database_commands import (
    ChangeDatabaseSettings,
    CreateDatabase,
    DeleteDatabase,
    RemoveBackupTarget,
    RequestDatabaseAction,
    ResealDatabasePasswords,
    RotateDatabasePassword,
    SetBackupSchedules,
    SetBackupTarget,
    UpgradeDatabase,
)
from rivetr.domain.database_events import (
    BackupSchedule,
)
from rivetr.domain.settings import ResourcesInput

DATABASE_IDS = ["d1", "d2", "d3"]
TEAMS = ["default", "acme"]
TARGETS = ["local", "nas"]
FACTS = ["running", "running", "running", "stopped", "crashed", "rotated", "rotate_failed"]
ACTIONS = ["start", "stop", "restart"]
UPGRADE_ENDS = ["upgraded", "upgrade_failed", "rolled_back"]


class Create(msgspec.Struct, frozen=True):
    database_id: str
    command: CreateDatabase
    starts: bool  # the runtime's reactor reports it running straight after


class Fact(msgspec.Struct, frozen=True):
    """What a reactor reports of a database (one of FACTS or UPGRADE_ENDS)."""

    database_id: str
    what: str


class BackUp(msgspec.Struct, frozen=True):
    database_id: str
    backup_id: str
    target: str


class BackupStep(msgspec.Struct, frozen=True):
    """The next step of the `pick`th backup asked for: failed there instead, or deleted."""

    pick: int
    fail: bool
    delete: bool = False


class Restore(msgspec.Struct, frozen=True):
    pick: int  # the backup, as BackupStep picks it
    restore_id: str
    into: str | None  # None: its own database (a safety backup first)


class RestoreDone(msgspec.Struct, frozen=True):
    pick: int
    ok: bool


ids = st.sampled_from(["d1", "d1", "d1", "d2", "d3"])  # most steps on one: it gets far
picks = st.integers(min_value=0, max_value=9)
schedules = st.lists(
    st.builds(
        BackupSchedule,
        cron=st.sampled_from(["0 3 * * *", "*/30 * * * *"]),
        target=st.sampled_from(TARGETS),
    ),
    max_size=2,
)
creates = st.builds(
    CreateDatabase,
    name=st.sampled_from(["pg", "cache"]),
    kind=st.sampled_from(["postgres", "redis"]),
    team=st.sampled_from(TEAMS),
    project=st.sampled_from(["default", "default", "shop"]),
    environment=st.sampled_from(["production", "production", "staging"]),
    public_port=st.none() | st.sampled_from([15432, 16379]),
)
unset_or = lambda *values: st.sampled_from([msgspec.UNSET, *values])  # noqa: E731
backup_ids = st.sampled_from(["b1", "b2", "b3", "b4", "b5"])
# each kind of step with how often it comes, so that databases get far (running, backed up,
# restored) before most of them are deleted
weighted: list[tuple[st.SearchStrategy[Any], int]] = [
    (st.builds(Create, ids, creates, st.sampled_from([True, True, False])), 4),
    (
        st.builds(
            ChangeDatabaseSettings,
            database_id=ids,
            public_port=unset_or(None, 15432, 25432),
            resources=unset_or(ResourcesInput(memory_mb=256), ResourcesInput(cpus=0.5)),
            verify_backups=unset_or(True, False),
        ),
        1,
    ),
    (st.builds(RequestDatabaseAction, database_id=ids, action=st.sampled_from(ACTIONS)), 1),
    (st.builds(Fact, ids, st.sampled_from(FACTS)), 6),
    (st.builds(Fact, ids, st.sampled_from(UPGRADE_ENDS)), 1),
    (st.builds(RotateDatabasePassword, database_id=ids), 1),
    (
        st.builds(
            ResealDatabasePasswords,
            database_id=ids,
            password=st.sampled_from(["rvs2:k2:a", "rvs2:k3:b"]),
            pending_password=st.just("rvs2:k3:c"),
            resealing=st.just(("", None, None)),  # what it reseals: filled in as the service does
        ),
        1,
    ),
    (st.builds(SetBackupSchedules, database_id=ids, schedules=schedules), 1),
    (st.builds(UpgradeDatabase, database_id=ids, version=st.sampled_from(["15", "17"])), 1),
    (st.builds(BackUp, ids, backup_ids, st.sampled_from(TARGETS)), 6),
    (st.builds(BackupStep, picks, st.sampled_from([False, False, False, True])), 8),
    (st.builds(BackupStep, picks, st.just(False), st.just(True)), 1),
    (st.builds(Restore, picks, st.sampled_from(["r1", "r2", "r3"]), st.none() | ids), 3),
    (st.builds(RestoreDone, picks, st.booleans()), 3),
    (
        st.builds(
            SetBackupTarget,
            team=st.sampled_from(TEAMS),
            name=st.sampled_from(TARGETS),
            keep_last=st.none() | st.just(3),
        ),
        1,
    ),
    (st.builds(RemoveBackupTarget, team=st.sampled_from(TEAMS), name=st.sampled_from(TARGETS)), 1),
    (
        st.builds(
            CreateProject,
            team=st.sampled_from(TEAMS),
            project=st.just("shop"),
            environments=st.just(["production", "staging"]),
        ),
        1,
    ),
    (st.builds(DeleteDatabase, database_id=ids), 1),
]
database_steps: st.SearchStrategy[Any] = st.sampled_from(
    [strategy for strategy, weight in weighted for _ in range(weight)]
).flatmap(lambda strategy: strategy)
