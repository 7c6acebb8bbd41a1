"""A team's backup targets (its `local` one there without any event), the decisions on them,
and what a backup's steps make of it: which backups a restore may use, and which are proven."""

from __future__ import annotations

import pytest

from rivetr.domain import backups
from rivetr.domain.database_commands import RemoveBackupTarget, S3Input, SetBackupTarget
from rivetr.domain.database_events import (
    BackupDeleted,
    BackupFailed,
    BackupReadBack,
    BackupRequested,
    BackupStored,
    BackupTargetRemoved,
    BackupTargetSet,
    BackupVerified,
    RestoreCompleted,
    RestoreFailed,
    RestoreRequested,
)
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.events import TeamCreated, TeamDeleted

S3 = S3Input(endpoint="https://s3.example.com", bucket="backups", access_key="AK", secret_key="s")


def targets(*events: Event) -> backups.TargetsState:
    return backups.fold_targets("acme", events)


def nas(**settings: object) -> BackupTargetSet:
    return BackupTargetSet(team="acme", name="nas", kind="local", **settings)


def test_every_team_has_its_local_target_without_any_event() -> None:
    local = backups.target(targets(), "local")
    assert (local.team, local.name, local.kind) == ("acme", "local", "local")
    assert (local.s3, local.encryption_key, local.keep_last) == (None, None, None)


def test_a_target_missing_is_refused_naming_the_targets_the_team_has() -> None:
    with pytest.raises(
        NotFound, match=r"team 'acme' has no backup target 'offsite' \(it has: local\)"
    ):
        backups.target(targets(), "offsite")
    held = targets(nas(), BackupTargetSet(team="acme", name="r2", kind="s3"))
    with pytest.raises(NotFound, match=r"\(it has: local, nas, r2\)"):
        backups.target(held, "offsite")
    removed = targets(nas(), BackupTargetRemoved(team="acme", name="nas"))
    with pytest.raises(NotFound, match=r"\(it has: local\)"):
        backups.target(removed, "nas")


def test_a_target_set_again_replaces_it_whole_and_the_same_settings_change_nothing() -> None:
    command = SetBackupTarget(team="acme", name="nas", keep_last=3)
    (made,) = backups.decide_target(targets(), command, [])
    assert made == nas(keep_last=3)
    assert backups.decide_target(targets(made), command, []) == []
    (replaced,) = backups.decide_target(targets(made), SetBackupTarget(team="acme", name="nas"), [])
    assert replaced == nas()  # its retention is gone with the settings that had it
    assert backups.target(targets(made, replaced), "nas").keep_last is None


def test_a_team_deleted_and_made_again_under_its_slug_has_none_of_the_old_targets() -> None:
    again = targets(
        nas(), TeamDeleted(team="acme"), TeamCreated(team="acme", name="Acme", owner="u2")
    )
    assert again.targets == {}
    command = SetBackupTarget(team="acme", name="nas")
    assert backups.decide_target(again, command, []) == [nas()]  # set anew, so it is seen


def test_an_s3_target_keeps_its_settings_and_local_is_never_s3() -> None:
    (made,) = backups.decide_target(
        targets(), SetBackupTarget(team="acme", name="r2", s3=S3, keep_days=30), []
    )
    assert made.kind == "s3"
    assert made.s3 is not None
    assert (made.s3.endpoint, made.s3.bucket, made.keep_days) == (S3.endpoint, "backups", 30)
    with pytest.raises(InvalidCommand, match="never S3"):
        backups.decide_target(targets(), SetBackupTarget(team="acme", name="local", s3=S3), [])


def test_a_target_in_a_schedule_is_not_removed_and_local_never_is() -> None:
    held = targets(nas())
    remove = RemoveBackupTarget(team="acme", name="nas")
    with pytest.raises(InvalidCommand, match="in the schedules of pg, cache: change those first"):
        backups.decide_target(held, remove, ["pg", "cache"])
    assert backups.decide_target(held, remove, []) == [BackupTargetRemoved(team="acme", name="nas")]
    with pytest.raises(NotFound, match="no backup target 'nas'"):
        backups.decide_target(targets(), remove, [])
    with pytest.raises(InvalidCommand, match="every team keeps its local target"):
        backups.decide_target(held, RemoveBackupTarget(team="acme", name="local"), [])


REQUESTED = BackupRequested(
    backup_id="b1",
    database_id="d1",
    team="acme",
    project="default",
    environment="production",
    kind="postgres",
    image="postgres:16-alpine",
    target="local",
    reason="on_demand",
)
STORED = BackupStored(backup_id="b1", key="acme/d1/b1", size=10, sha256="ab", counts={"t": 2})
READ_BACK = BackupReadBack(backup_id="b1", size=10, sha256="ab")
VERIFIED = BackupVerified(backup_id="b1", counts={"t": 2})


@pytest.mark.parametrize(
    ("history", "status", "usable"),
    [
        ([REQUESTED], "requested", False),
        ([REQUESTED, STORED], "stored", False),  # not read back: not known whole
        ([REQUESTED, STORED, READ_BACK], "read_back", True),
        ([REQUESTED, STORED, READ_BACK, VERIFIED], "verified", True),
        (
            [REQUESTED, STORED, BackupFailed(backup_id="b1", step="read_back", reason="x")],
            "failed",
            False,
        ),
        (
            [REQUESTED, STORED, READ_BACK, BackupFailed(backup_id="b1", step="check", reason="x")],
            "failed",
            False,
        ),
        (
            [REQUESTED, STORED, READ_BACK, VERIFIED, BackupDeleted(backup_id="b1", reason="r")],
            "verified",
            False,
        ),
    ],
)
def test_a_backup_is_usable_once_read_back_whole_and_until_deleted(
    history: list[Event], status: str, usable: bool
) -> None:
    state = backups.fold_backup("b1", history)
    assert (state.status, state.usable) == (status, usable)
    assert state.request == REQUESTED


def test_a_backup_keeps_what_was_stored_and_why_it_failed() -> None:
    failed = BackupFailed(backup_id="b1", step="check", reason="t: 1 rows, not 2")
    state = backups.fold_backup("b1", [REQUESTED, STORED, READ_BACK, failed])
    assert (state.key, state.size, state.sha256, state.counts) == ("acme/d1/b1", 10, "ab", {"t": 2})
    assert state.failure == "check: t: 1 rows, not 2"


def test_a_restore_ends_completed_or_failed_with_its_reason() -> None:
    requested = RestoreRequested(restore_id="r1", backup_id="b1", database_id="d1")
    assert backups.fold_restore("r1", [requested]).status == "requested"
    done = backups.fold_restore("r1", [requested, RestoreCompleted(restore_id="r1")])
    assert (done.status, done.request) == ("completed", requested)
    failed = backups.fold_restore("r1", [requested, RestoreFailed(restore_id="r1", reason="no")])
    assert (failed.status, failed.failure) == ("failed", "no")
