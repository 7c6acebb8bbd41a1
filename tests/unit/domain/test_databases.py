"""The Database aggregate's rules, on plain values: a new database lands in an environment that
exists under a name that is not a reference level; actions, password rotations and upgrades
happen one at a time; a deleted database takes no more commands."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import claims, databases, projects
from rivetr.domain.database_commands import (
    ChangeDatabaseSettings,
    CreateDatabase,
    DeleteDatabase,
    RequestDatabaseAction,
    ResealDatabasePasswords,
    RotateDatabasePassword,
    UpgradeDatabase,
)
from rivetr.domain.database_events import (
    DatabaseCreated,
    DatabaseDeleted,
    DatabasePasswordRotated,
    DatabaseRunning,
    DatabaseSettingsChanged,
    DatabaseUpgraded,
    DatabaseUpgradeFailed,
    DatabaseUpgradeRequested,
)
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.event_base import Event

DB = "db0000000001"
NEW = databases.Provisioned(
    database_id=DB,
    version="16",
    image="postgres:16-alpine",
    port=5432,
    user="app",
    database="app",
    password="rvs2:k:old",
)
HOME = projects.initial_state("a", "default")


def create(**fields: object) -> list[Event]:
    command = CreateDatabase(name="pg", kind="postgres", team="a", **fields)  # type: ignore[arg-type]
    return databases.decide_create(databases.DatabaseState(database_id=DB), HOME, command, NEW)


def state_after(*events: Event) -> databases.DatabaseState:
    return databases.fold(DB, [*create(), *events])


def test_a_database_is_created_in_an_environment_with_what_the_service_settled() -> None:
    [created] = create(public_port=15432)
    assert isinstance(created, DatabaseCreated)
    assert (created.team, created.project, created.environment) == ("a", "default", "production")
    assert (created.image, created.port, created.public_port) == ("postgres:16-alpine", 5432, 15432)
    assert created.password == "rvs2:k:old"


def test_a_missing_environment_is_named() -> None:
    with pytest.raises(NotFound, match="no environment 'staging'"):
        create(environment="staging")


@pytest.mark.parametrize("name", ["team", "project", "environment", "app"])
def test_a_reference_level_is_no_database_name(name: str) -> None:
    command = CreateDatabase(name=name, kind="redis", team="a")
    with pytest.raises(InvalidCommand, match="choose another name"):
        databases.decide_create(databases.DatabaseState(database_id=DB), HOME, command, NEW)


def test_an_id_is_never_reused() -> None:
    with pytest.raises(AlreadyExists):
        databases.decide_create(
            state_after(), HOME, CreateDatabase(name="pg", kind="postgres", team="a"), NEW
        )


def test_a_system_port_or_a_host_name_is_refused_as_a_public_binding() -> None:
    with pytest.raises(InvalidCommand, match="system port"):
        CreateDatabase(name="pg", kind="postgres", public_port=443)
    with pytest.raises(InvalidCommand, match="not an IP address"):
        ChangeDatabaseSettings(database_id=DB, bind_address="example.com")


def test_only_changed_settings_are_recorded() -> None:
    state = state_after()
    assert databases.decide(state, ChangeDatabaseSettings(database_id=DB, public_port=None)) == []
    [changed] = databases.decide(state, ChangeDatabaseSettings(database_id=DB, public_port=16000))
    assert changed == DatabaseSettingsChanged(database_id=DB, public_port=16000)


def test_starting_a_running_database_or_stopping_a_stopped_one_records_nothing() -> None:
    running = state_after(DatabaseRunning(database_id=DB, container="c", image="i"))
    assert databases.decide(running, RequestDatabaseAction(database_id=DB, action="start")) == []
    stopped = databases.fold(
        DB,
        [
            *create(),
            *databases.decide(running, RequestDatabaseAction(database_id=DB, action="stop")),
        ],
    )
    assert stopped.wanted == "stopped"
    assert databases.decide(stopped, RequestDatabaseAction(database_id=DB, action="stop")) == []


def test_a_rotated_password_is_the_servers_only_once_it_is_set_there() -> None:
    running = state_after(DatabaseRunning(database_id=DB, container="c", image="i"))
    asked = databases.decide(running, RotateDatabasePassword(database_id=DB, password="rvs2:k:new"))
    pending = databases.fold(
        DB, [*create(), DatabaseRunning(database_id=DB, container="c", image="i"), *asked]
    )
    assert (pending.password, pending.pending_password) == ("rvs2:k:old", "rvs2:k:new")
    with pytest.raises(InvalidCommand, match="changing its password"):
        databases.decide(pending, RotateDatabasePassword(database_id=DB, password="x"))
    done = databases.evolve(pending, DatabasePasswordRotated(database_id=DB))
    assert (done.password, done.pending_password) == ("rvs2:k:new", None)


def test_a_reseal_keeps_the_passwords_under_a_newer_seal_even_mid_rotation() -> None:
    running = state_after(DatabaseRunning(database_id=DB, container="c", image="i"))
    asked = databases.decide(running, RotateDatabasePassword(database_id=DB, password="rvs2:k:new"))
    pending = databases.fold(
        DB, [*create(), DatabaseRunning(database_id=DB, container="c", image="i"), *asked]
    )
    held = ("rvs2:k:old", None, "rvs2:k:new")
    same = ResealDatabasePasswords(
        database_id=DB, password="rvs2:k:old", pending_password="rvs2:k:new", resealing=held
    )
    newer = ResealDatabasePasswords(
        database_id=DB, password="rvs2:k2:old", pending_password="rvs2:k2:new", resealing=held
    )
    # sealed before the rotation was asked for: it would undo the rotation
    before = ("rvs2:k:old", None, None)
    stale = msgspec.structs.replace(newer, pending_password=None, resealing=before)

    assert databases.decide(pending, same) == []  # sealed with the newest key already
    [resealed] = databases.decide(pending, newer)
    after = databases.fold(
        DB, [*create(), *asked, resealed, DatabasePasswordRotated(database_id=DB)]
    )

    assert (after.password, after.pending_password) == ("rvs2:k2:new", None)
    with pytest.raises(InvalidCommand, match="changed its password while it was resealed"):
        databases.decide(pending, stale)
    deleted = state_after(DatabaseDeleted(database_id=DB, name="pg", volume_kept=True))
    with pytest.raises(NotFound):
        databases.decide(deleted, newer)


def test_a_password_is_rotated_on_a_running_server_only() -> None:
    with pytest.raises(InvalidCommand, match="start it"):
        databases.decide(state_after(), RotateDatabasePassword(database_id=DB, password="x"))


def test_an_upgrade_starts_from_a_running_server_and_to_another_image() -> None:
    running = state_after(DatabaseRunning(database_id=DB, container="c", image=NEW.image))
    with pytest.raises(InvalidCommand, match="already runs"):
        databases.decide_upgrade(
            running, UpgradeDatabase(database_id=DB, version="16"), "u", NEW.image
        )
    [asked] = databases.decide_upgrade(
        running, UpgradeDatabase(database_id=DB, version="17"), "u1", "postgres:17-alpine"
    )
    assert isinstance(asked, DatabaseUpgradeRequested)
    assert (asked.from_image, asked.image) == (NEW.image, "postgres:17-alpine")
    upgrading = databases.evolve(running, asked)
    with pytest.raises(InvalidCommand, match="being upgraded"):
        databases.decide_upgrade(
            upgrading, UpgradeDatabase(database_id=DB, version="18"), "u2", "p:18"
        )


def test_an_upgrade_names_its_backup_and_its_outcome_moves_the_database() -> None:
    running = state_after(DatabaseRunning(database_id=DB, container="c", image=NEW.image))
    [asked] = databases.decide_upgrade(
        running, UpgradeDatabase(database_id=DB, version="17"), "u1", "p:17", backup_id="b1"
    )
    assert isinstance(asked, DatabaseUpgradeRequested)
    assert asked.backup_id == "b1"
    upgrading = databases.evolve(running, asked)
    failed = databases.evolve(
        upgrading,
        DatabaseUpgradeFailed(database_id=DB, upgrade_id="u1", reason="no", rolled_back=True),
    )
    assert (failed.status, failed.image, failed.upgrade_id) == ("running", NEW.image, None)
    assert failed.failure == "no"
    again = databases.evolve(failed, asked)
    done = databases.evolve(
        again, DatabaseUpgraded(database_id=DB, upgrade_id="u1", version="17", image="p:17")
    )
    assert (done.status, done.version, done.image, done.failure) == ("running", "17", "p:17", None)


def test_a_deleted_database_takes_no_more_commands() -> None:
    deleted = state_after(DatabaseDeleted(database_id=DB, name="pg", volume_kept=True))
    with pytest.raises(NotFound):
        databases.decide(deleted, RequestDatabaseAction(database_id=DB, action="start"))
    assert databases.decide(state_after(), DeleteDatabase(database_id=DB, keep_volume=False)) == [
        DatabaseDeleted(database_id=DB, name="pg", volume_kept=False)
    ]


def test_a_name_is_unique_in_its_environment_and_a_port_on_the_host() -> None:
    key = claims.database_name("a", "default", "production", "pg")
    held = claims.fold(claims.claim_database(claims.ClaimsState(), DB, "a", key, 15432))
    other_env = claims.database_name("a", "default", "staging", "pg")
    assert claims.claim_database(held, "db0000000002", "a", other_env, None)
    with pytest.raises(AlreadyExists, match="already has a database named 'pg'"):
        claims.claim_database(held, "db0000000002", "a", key, None)
    with pytest.raises(AlreadyExists, match="host port 15432"):
        claims.claim_database(held, "db0000000002", "b", other_env, 15432)
    first = claims.claim_database(claims.ClaimsState(), DB, "a", key, 15432)
    moved = claims.fold([*first, *claims.claim_database(held, DB, "a", key, 16000)])
    assert set(moved.names) == {key, claims.host_port(16000)}
    assert not claims.fold([*first, *claims.release_all(held, DB)]).names


def test_the_official_image_of_a_version() -> None:
    assert databases.image_for("postgres", "15") == "postgres:15-alpine"
    assert databases.image_for("mongodb", "7") == "mongo:7"
