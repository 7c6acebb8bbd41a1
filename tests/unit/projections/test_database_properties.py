"""For any generated history of databases, backups, restores and backup targets, applying it as
it arrives and rebuilding from zero give the same databases and audit tables; the databases
view agrees with the states the domain folds (status, image, version, public port, schedules,
the newest verified backup not deleted); and the audit places each of a database's entries
(its backups' and restores' too) where the database lives."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import anyio
import hypothesis
import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain.database_events import BackupSchedule
from rivetr.projections.databases import BackupView, DatabaseView
from rivetr.projections.reading import columns, row_as
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner
from tests.unit.projections.database_histories import World, play_step
from tests.unit.projections.database_steps import database_steps

TABLES = [
    "databases",
    "backups",
    "restores",
    "backup_targets",
    "audit",
    "audit_resources",
    "projection_checkpoints",
    "projection_failures",
]

# each step: what to do, who does it, and the runner's page size for the catch-up that follows
histories = st.lists(
    st.tuples(
        database_steps,
        st.sampled_from(["admin", "system:databases"]),
        st.integers(min_value=1, max_value=3),
    ),
    min_size=30,
    max_size=90,
)


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}")) for table in TABLES}
    finally:
        conn.close()


def views(path: Path, view: type[Any], table: str) -> list[Any]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(f"SELECT {columns(view)} FROM {table}").fetchall()
        return [row_as(view, row) for row in rows]
    finally:
        conn.close()


def assert_databases_agree_with_the_domain(path: Path, world: World) -> None:
    shown = {view.database_id: view for view in views(path, DatabaseView, "databases")}
    alive = {d: s for d, s in world.databases.items() if s.exists and not s.deleted}
    assert set(shown) == set(alive)
    for d, state in alive.items():
        view = shown[d]
        assert (view.name, view.team, view.project, view.environment, view.kind) == (
            state.name,
            state.team,
            state.project,
            state.environment,
            state.kind,
        )
        assert (view.status, view.wanted) == (state.status, state.wanted)
        assert (view.image, view.version) == (state.image, state.version)
        assert (view.public_port, view.bind_address) == (state.public_port, state.bind_address)
        assert (view.memory_mb, view.cpus) == (state.resources.memory_mb, state.resources.cpus)
        assert view.verify_backups is state.verify_backups
        assert view.rotating_password is (state.pending_password is not None)
        assert view.schedules == [
            msgspec.convert(msgspec.to_builtins(s), BackupSchedule) for s in state.schedules
        ]
        assert view.last_verified_backup_id == world.newest_verified(d)
        if view.last_verified_backup_id is not None:
            hypothesis.event("a database has a verified backup")
        hypothesis.event(f"a database ended {state.status}")


def assert_backups_and_restores_agree_with_the_domain(path: Path, world: World) -> None:
    shown = {view.backup_id: view for view in views(path, BackupView, "backups")}
    # a team's deletion would take its backups away; these histories delete no team
    assert set(shown) == set(world.backups)
    for b, state in world.backups.items():
        assert (shown[b].status, shown[b].deleted) == (state.status, state.deleted)
        hypothesis.event(f"a backup ended {state.status}{' deleted' if state.deleted else ''}")
    for state in world.restores.values():
        hypothesis.event(f"a restore ended {state.status}")
    conn = sqlite3.connect(path)
    try:
        restores = dict(conn.execute("SELECT restore_id, status FROM restores"))
        targets = set(conn.execute("SELECT team, name FROM backup_targets"))
    finally:
        conn.close()
    assert restores == {r: s.status for r, s in world.restores.items()}
    assert targets == {(team, name) for team, s in world.targets.items() for name in s.targets}


def assert_the_audit_places_databases_where_they_live(path: Path, world: World) -> None:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        entries = conn.execute("SELECT * FROM audit").fetchall()
    finally:
        conn.close()
    for entry in entries:
        if entry["stream_id"].startswith(("database-", "backup-", "restore-")):
            state = world.databases[entry["database_id"]]
            assert (entry["database"], entry["app_id"]) == (state.name, None)
            assert (entry["team"], entry["project"], entry["environment"]) == (
                state.team,
                state.project,
                state.environment,
            )
        elif entry["stream_id"].startswith("team-"):  # its backup targets: the team's
            assert (entry["database_id"], entry["project"]) == (None, None)


async def check_history(directory: Path, history: list[tuple[Any, str, int]]) -> None:
    store = InMemoryEventStore()
    incremental = ProjectionRunner(store, directory / "incremental.db", all_projections())
    from_zero = ProjectionRunner(store, directory / "from-zero.db", all_projections())
    await incremental.open()
    await from_zero.open()
    try:
        world = World()
        for number, (step, actor, page) in enumerate(history):
            meta = EventMeta(actor=actor, correlation_id=f"req-{number}")
            await play_step(store, world, step, meta)
            incremental.page = page
            await incremental.catch_up()
        head = await store.head()
        assert await from_zero.catch_up() == head
        assert incremental.failures == {} == from_zero.failures

        built_as_it_came = dump(directory / "incremental.db")
        assert built_as_it_came == dump(directory / "from-zero.db")
        assert built_as_it_came["projection_failures"] == []
        assert_databases_agree_with_the_domain(directory / "incremental.db", world)
        assert_backups_and_restores_agree_with_the_domain(directory / "incremental.db", world)
        assert_the_audit_places_databases_where_they_live(directory / "incremental.db", world)

        incremental.page = 2000
        assert await incremental.rebuild() == head
        assert dump(directory / "incremental.db") == built_as_it_came
    finally:
        await incremental.close()
        await from_zero.close()


@given(histories)
@settings(max_examples=60, deadline=None)
def test_a_database_history_applied_as_it_arrives_equals_it_rebuilt_and_the_domain(
    history: list[tuple[Any, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(check_history, Path(directory), history)
