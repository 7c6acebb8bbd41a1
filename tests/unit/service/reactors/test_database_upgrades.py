"""The upgrader on the twins (the event store, the engine, the clock): what it does to the
container, the volume and its snapshot on each path, and what it records."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters.clock import FakeClock
from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer
from rivetr.adapters.secrets import SecretBox
from rivetr.domain import backups, databases
from rivetr.domain.database_commands import UpgradeDatabase
from rivetr.domain.database_events import (
    BackupFailed,
    BackupVerified,
    DatabaseCreated,
    DatabaseRunning,
    DatabaseUpgraded,
    DatabaseUpgradeFailed,
)
from rivetr.domain.event_base import Event
from rivetr.service.commands.databases import password_context
from rivetr.service.reactors.backup_worker import BackupWorker
from rivetr.service.reactors.database_containers import (
    container_name,
    credentials,
    network_name,
    spec,
    volume_name,
)
from rivetr.service.reactors.database_keeper import DatabaseKeeper
from rivetr.service.reactors.database_upgrades import (
    UPGRADE_LABEL,
    DatabaseUpgrader,
    snapshot_name,
)

pytestmark = pytest.mark.anyio
DB = "db0000000001"
UP = "up0000000001"
BACKUP = "bk0000000001"
OLD_DATA = {"PG_VERSION": b"16", "base/1": b"rows"}


class Upgrades:
    def __init__(self, tmp_path: Path) -> None:
        self.store = InMemoryEventStore()
        self.runtime = FakeRuntime()
        self.runtime.on_exec("env", lambda call: FakeExecAnswer())  # every health check passes
        self.secrets = SecretBox(tmp_path / "secrets.key")
        self.clock = FakeClock()
        keeper = DatabaseKeeper(
            self.store,
            None,  # type: ignore[arg-type]  # only its reconcile reads the read model
            lambda: self.runtime,
            self.secrets,
            self.clock,
            health_timeout_s=10,
        )
        worker = BackupWorker(
            self.store,
            lambda: self.runtime,
            keeper,
            None,  # type: ignore[arg-type]  # no backup is taken here: the tests record them
            None,  # type: ignore[arg-type]
            self.clock,
        )
        self.keeper = keeper
        self.upgrader = DatabaseUpgrader(worker)

    async def record(self, stream: str, *events: Event) -> None:
        meta = EventMeta(actor="test", source="system", team="default", resource=DB)
        await self.store.append(stream, None, list(events), meta)

    async def running_16(self) -> None:
        for image in ("postgres:16-alpine", "postgres:17-alpine"):
            await self.runtime.import_image(image.encode(), image, cmd=["postgres"])
        created = DatabaseCreated(
            database_id=DB,
            name="pg",
            team="default",
            project="default",
            environment="production",
            kind="postgres",
            version="16",
            image="postgres:16-alpine",
            port=5432,
            user="app",
            database="app",
            password=self.secrets.seal(password_context(DB), "secret"),
        )
        await self.record(databases.stream_id(DB), created)
        state = await self.keeper.state(DB)
        await self.runtime.create_network(network_name("default", "default", "production"), {})
        await self.runtime.create_volume(volume_name(DB), {})
        self.runtime.volumes[volume_name(DB)].files.update(OLD_DATA)
        await self.runtime.run_container(spec(state, credentials(self.secrets, state), {}))
        running = DatabaseRunning(
            database_id=DB, container=container_name(DB), image="postgres:16-alpine"
        )
        await self.record(databases.stream_id(DB), running)

    async def ask(self, backup_outcome: Event | None) -> None:
        state = await self.keeper.state(DB)
        command = UpgradeDatabase(database_id=DB, version="17")
        asked = databases.decide_upgrade(state, command, UP, "postgres:17-alpine", backup_id=BACKUP)
        await self.record(databases.stream_id(DB), *asked)
        request = backups.backup_request(BACKUP, state, "local", "before_upgrade", True)
        outcome = [] if backup_outcome is None else [backup_outcome]
        await self.record(backups.backup_stream(BACKUP), request, *outcome)

    async def outcome(self) -> Event:
        history = await self.store.read_stream(databases.stream_id(DB))
        return history[-1].event

    async def image_running(self) -> str:
        info = await self.runtime.inspect_container(container_name(DB))
        assert info is not None
        assert info.state == "running"
        return info.image


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def upgrades(tmp_path: Path) -> Upgrades:
    made = Upgrades(tmp_path)
    await made.running_16()
    return made


VERIFIED = BackupVerified(backup_id=BACKUP, counts={"public.t": 3})


async def test_a_healthy_new_image_keeps_the_data_and_drops_the_snapshot(
    upgrades: Upgrades,
) -> None:
    await upgrades.ask(VERIFIED)
    await upgrades.upgrader.upgrade(DB)

    assert isinstance(await upgrades.outcome(), DatabaseUpgraded)
    state = await upgrades.keeper.state(DB)
    assert (state.status, state.version, state.image) == ("running", "17", "postgres:17-alpine")
    assert await upgrades.image_running() == "postgres:17-alpine"
    assert upgrades.runtime.volumes[volume_name(DB)].files == OLD_DATA
    assert snapshot_name(DB, UP) not in upgrades.runtime.volumes


async def test_a_failed_backup_ends_the_upgrade_before_the_server_is_touched(
    upgrades: Upgrades,
) -> None:
    before = await upgrades.runtime.inspect_container(container_name(DB))
    await upgrades.ask(BackupFailed(backup_id=BACKUP, step="store", reason="disk full"))
    await upgrades.upgrader.upgrade(DB)

    outcome = await upgrades.outcome()
    assert isinstance(outcome, DatabaseUpgradeFailed)
    assert outcome.rolled_back
    assert outcome.reason.startswith("the backup taken first failed: store: disk full")
    after = await upgrades.runtime.inspect_container(container_name(DB))
    assert before == after
    assert snapshot_name(DB, UP) not in upgrades.runtime.volumes


async def test_a_new_image_that_does_not_start_is_rolled_back_to_the_old(
    upgrades: Upgrades,
) -> None:
    await upgrades.ask(VERIFIED)
    upgrades.runtime.fail_next_start("exec format error")
    await upgrades.upgrader.upgrade(DB)

    outcome = await upgrades.outcome()
    assert isinstance(outcome, DatabaseUpgradeFailed)
    assert outcome.rolled_back
    assert "postgres:17-alpine did not come up" in outcome.reason
    assert "exec format error" in outcome.reason
    state = await upgrades.keeper.state(DB)
    assert (state.status, state.version, state.image) == ("running", "16", "postgres:16-alpine")
    assert await upgrades.image_running() == "postgres:16-alpine"
    assert upgrades.runtime.volumes[volume_name(DB)].files == OLD_DATA
    assert snapshot_name(DB, UP) not in upgrades.runtime.volumes


async def test_an_upgrade_cut_off_after_the_new_image_started_is_rolled_back_to_the_snapshot(
    upgrades: Upgrades,
) -> None:
    await upgrades.ask(VERIFIED)
    runtime = upgrades.runtime
    # what a previous run left: the snapshot whole, the new image running on changed data
    await runtime.copy_volume(volume_name(DB), snapshot_name(DB, UP), "postgres:16-alpine")
    await runtime.remove_container(container_name(DB), force=True)
    state = await upgrades.keeper.state(DB)
    new = spec(
        state,
        credentials(upgrades.secrets, state),
        {},
        image="postgres:17-alpine",
        labels={UPGRADE_LABEL: UP},
    )
    await runtime.run_container(new)
    runtime.volumes[volume_name(DB)].files.update({"PG_VERSION": b"17", "pg_new": b"x"})

    upgrades.upgrader.note_interrupted([DB])
    await upgrades.upgrader.roll_back_interrupted()

    outcome = await upgrades.outcome()
    assert isinstance(outcome, DatabaseUpgradeFailed)
    assert outcome.rolled_back
    assert outcome.reason.startswith("Rivetr stopped before the upgrade was finished")
    assert await upgrades.image_running() == "postgres:16-alpine"
    assert runtime.volumes[volume_name(DB)].files == OLD_DATA
    assert snapshot_name(DB, UP) not in runtime.volumes


async def test_an_upgrade_cut_off_while_copying_leaves_the_volume_as_it_was(
    upgrades: Upgrades,
) -> None:
    await upgrades.ask(VERIFIED)
    runtime = upgrades.runtime
    # the old container stopped, the snapshot half-copied
    await runtime.stop_container(container_name(DB), timeout_s=1)
    await runtime.create_volume(snapshot_name(DB, UP), {})
    runtime.volumes[snapshot_name(DB, UP)].files["PG_VERSION"] = b"16"

    upgrades.upgrader.note_interrupted([DB])
    await upgrades.upgrader.roll_back_interrupted()

    outcome = await upgrades.outcome()
    assert isinstance(outcome, DatabaseUpgradeFailed)
    assert outcome.rolled_back
    assert await upgrades.image_running() == "postgres:16-alpine"
    assert runtime.volumes[volume_name(DB)].files == OLD_DATA
    assert snapshot_name(DB, UP) not in runtime.volumes


async def test_an_upgrade_cut_off_before_the_server_was_stopped_leaves_it_running(
    upgrades: Upgrades,
) -> None:
    await upgrades.ask(None)  # the backup was still being taken
    before = await upgrades.runtime.inspect_container(container_name(DB))

    upgrades.upgrader.note_interrupted([DB])
    await upgrades.upgrader.roll_back_interrupted()

    outcome = await upgrades.outcome()
    assert isinstance(outcome, DatabaseUpgradeFailed)
    assert outcome.rolled_back
    assert outcome.reason.endswith("the database was not touched")
    assert await upgrades.runtime.inspect_container(container_name(DB)) == before
