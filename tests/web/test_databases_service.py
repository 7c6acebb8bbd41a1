"""Managed databases through the services, on the twins: made in an environment with sealed
credentials, their names and public ports claimed, backups and restores asked for only where
they can happen, and a team's backup targets with their secrets sealed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rivetr.adapters.secrets import is_sealed
from rivetr.domain import databases
from rivetr.domain.access import SYSTEM
from rivetr.domain.aggregates import BACKUP_TARGETS, DATABASES
from rivetr.domain.commands import CreateEnvironment, CreateProject, DeleteEnvironment
from rivetr.domain.database_commands import (
    BackUpDatabase,
    ChangeDatabaseSettings,
    CreateDatabase,
    DeleteDatabase,
    RemoveBackupTarget,
    RestoreBackup,
    S3Input,
    SetBackupSchedules,
    SetBackupTarget,
)
from rivetr.domain.database_events import BackupSchedule, DatabaseRunning
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound


def fold(call: Callable[..., Any], services: Any, aggregate: Any, key: str) -> Any:
    stream = aggregate.at(key)
    history = call(services.store.read_stream, stream.stream_id)
    return stream.fold([e.event for e in history])


def test_a_database_gets_an_image_a_port_and_sealed_generated_credentials(
    call: Callable[..., Any], services: Any
) -> None:
    database_id, _ = call(
        services.databases.create, SYSTEM, CreateDatabase(name="pg", kind="postgres")
    )
    state = fold(call, services, DATABASES, database_id)
    assert (state.team, state.project, state.environment) == ("default", "default", "production")
    assert (state.image, state.port, state.user, state.database) == (
        "postgres:16-alpine",
        5432,
        "app",
        "app",
    )
    assert is_sealed(state.password)
    plain = services.secrets.open(f"database:{database_id}:password", state.password)
    assert len(plain) == 32
    view = call(services.read.databases.one, database_id)
    assert (view.name, view.status, view.kind) == ("pg", "starting", "postgres")
    maria_id, _ = call(
        services.databases.create, SYSTEM, CreateDatabase(name="maria", kind="mariadb")
    )
    assert fold(call, services, DATABASES, maria_id).root_password is not None


def test_a_name_is_unique_in_its_environment_and_a_public_port_on_the_host(
    call: Callable[..., Any], services: Any
) -> None:
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="shop"))
    call(
        services.projects.run,
        SYSTEM,
        CreateEnvironment(team="default", project="shop", environment="staging"),
    )
    first, _ = call(
        services.databases.create,
        SYSTEM,
        CreateDatabase(name="pg", kind="postgres", project="shop", public_port=15432),
    )
    with pytest.raises(AlreadyExists, match="already has a database named 'pg'"):
        call(
            services.databases.create,
            SYSTEM,
            CreateDatabase(name="pg", kind="redis", project="shop"),
        )
    with pytest.raises(AlreadyExists, match="host port 15432"):
        call(
            services.databases.create,
            SYSTEM,
            CreateDatabase(
                name="pg", kind="redis", project="shop", environment="staging", public_port=15432
            ),
        )
    second, _ = call(
        services.databases.create,
        SYSTEM,
        CreateDatabase(name="pg", kind="redis", project="shop", environment="staging"),
    )
    call(
        services.databases.run, SYSTEM, ChangeDatabaseSettings(database_id=first, public_port=16000)
    )
    call(
        services.databases.run,
        SYSTEM,
        ChangeDatabaseSettings(database_id=second, public_port=15432),
    )
    with pytest.raises(InvalidCommand, match="still holds database pg"):
        call(
            services.projects.run,
            SYSTEM,
            DeleteEnvironment(team="default", project="shop", environment="staging"),
        )
    call(services.databases.run, SYSTEM, DeleteDatabase(database_id=second))
    call(
        services.projects.run,
        SYSTEM,
        DeleteEnvironment(team="default", project="shop", environment="staging"),
    )
    assert call(services.read.databases.one, second) is None
    third, _ = call(
        services.databases.create,
        SYSTEM,
        CreateDatabase(name="pg", kind="redis", public_port=15432),
    )
    assert third


def test_a_backup_is_asked_of_a_running_database_to_a_target_of_its_team(
    call: Callable[..., Any], services: Any
) -> None:
    database_id, _ = call(
        services.databases.create, SYSTEM, CreateDatabase(name="pg", kind="postgres")
    )
    with pytest.raises(InvalidCommand, match="is starting: a backup is taken of a running"):
        call(services.backups.back_up, SYSTEM, BackUpDatabase(database_id=database_id))
    call(
        services.store.append,
        databases.stream_id(database_id),
        1,
        [DatabaseRunning(database_id=database_id, container="c", image="postgres:16-alpine")],
        _meta(),
    )
    with pytest.raises(NotFound, match="no backup target 'offsite'"):
        call(
            services.backups.back_up,
            SYSTEM,
            BackUpDatabase(database_id=database_id, target="offsite"),
        )
    backup_id, _ = call(services.backups.back_up, SYSTEM, BackUpDatabase(database_id=database_id))
    view = call(services.read.databases.backup, backup_id)
    assert (view.status, view.target, view.reason, view.verify) == (
        "requested",
        "local",
        "on_demand",
        True,
    )
    with pytest.raises(InvalidCommand, match="not stored whole yet"):
        call(services.backups.restore, SYSTEM, RestoreBackup(backup_id=backup_id), True)


def test_a_targets_secrets_are_sealed_and_a_used_target_is_not_removed(
    call: Callable[..., Any], services: Any
) -> None:
    s3 = S3Input(
        endpoint="https://s3.example.com", bucket="backups", access_key="AK", secret_key="SK"
    )
    call(
        services.backups.set_target,
        SYSTEM,
        SetBackupTarget(
            name="offsite", s3=s3, keep_last=7, encryption_passphrase="a long passphrase"
        ),
    )
    held = fold(call, services, BACKUP_TARGETS, "default").targets["offsite"]
    assert held.s3 is not None
    assert is_sealed(held.s3.secret_key)
    assert held.encryption_key is not None
    assert is_sealed(held.encryption_key)
    [local, offsite] = call(services.read.databases.targets, "default")
    assert (local.name, offsite.name, offsite.keep_last, offsite.encrypted) == (
        "local",
        "offsite",
        7,
        True,
    )
    database_id, _ = call(
        services.databases.create, SYSTEM, CreateDatabase(name="pg", kind="postgres")
    )
    call(
        services.databases.run,
        SYSTEM,
        SetBackupSchedules(
            database_id=database_id, schedules=[BackupSchedule(cron="0 3 * * *", target="offsite")]
        ),
    )
    with pytest.raises(InvalidCommand, match="in the schedules of pg"):
        call(services.backups.set_target, SYSTEM, RemoveBackupTarget(name="offsite"))
    with pytest.raises(NotFound, match="no backup target 'nowhere'"):
        call(
            services.databases.run,
            SYSTEM,
            SetBackupSchedules(
                database_id=database_id,
                schedules=[BackupSchedule(cron="0 3 * * *", target="nowhere")],
            ),
        )


def _meta() -> Any:
    from rivetr.adapters.eventstore.base import EventMeta

    return EventMeta(actor="system")
