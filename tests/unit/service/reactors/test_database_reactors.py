"""The database reactors on the in-memory twins, with MongoDB's commands (no MongoDB server can
run on these machines): the twin's exec table plays `mongosh`, `mongodump` and `mongorestore`
as the kind's definition calls them, with a store of documents per container. A database is
started healthy, backed up, read back and verified in a throwaway copy that answers the same
counts; a copy that answers other counts fails the backup at `check`; a restart of the service
records a backup it cut off as failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from rivetr.adapters.runtime.fake_exec import FakeExecAnswer, FakeExecCall
from rivetr.domain.access import SYSTEM
from rivetr.domain.database_commands import BackUpDatabase, CreateDatabase
from rivetr.domain.database_events import BackupRequested
from rivetr.domain.databases import DEFAULT_VERSIONS, image_for
from tests.unit.service.reactors.house import House

pytestmark = pytest.mark.anyio

MAGIC = b"\x6d\xe2\x99\x81"  # mongodump's archive starts so
IMAGE = image_for("mongodb", DEFAULT_VERSIONS["mongodb"])


class Mongo:
    """What each twin container's server holds: documents per collection."""

    def __init__(self, house: House) -> None:
        self.held: dict[str, dict[str, int]] = {}
        self.lose_on_restore = False
        house.runtime.on_exec("env", lambda call: FakeExecAnswer())  # the health check
        house.runtime.on_exec("mongosh", self.shell)
        house.runtime.on_exec("sh", self.tool)

    def shell(self, call: FakeExecCall) -> FakeExecAnswer:
        counts = self.held.setdefault(call.container, {})
        return FakeExecAnswer(stdout=[json.dumps(counts).encode() + b"\n"])

    def tool(self, call: FakeExecCall) -> FakeExecAnswer:
        program = call.argv[4]
        if program == "mongodump":
            body = json.dumps(self.held.get(call.container, {})).encode()
            return FakeExecAnswer(stdout=[MAGIC, body])
        assert program == "mongorestore"
        assert call.stdin.startswith(MAGIC)
        counts = json.loads(call.stdin[len(MAGIC) :])
        if self.lose_on_restore:
            counts = {name: n - 1 for name, n in counts.items()}
        self.held[call.container] = counts
        return FakeExecAnswer()


async def settled(services: Any, read: Any, done: Any) -> Any:
    with anyio.fail_after(10):
        while True:
            await services.runner.wait_until(await services.store.head())
            view = await read()
            if done(view):
                return view
            await anyio.sleep(0.005)


async def running_mongo(services: Any, house: House) -> str:
    await house.runtime.import_image(b"mongo", IMAGE, cmd=["mongod"])
    database_id, _ = await services.databases.create(
        SYSTEM, CreateDatabase(name="docs", kind="mongodb")
    )
    view = await settled(
        services,
        lambda: services.read.databases.one(database_id),
        lambda v: v.status in ("running", "failed"),
    )
    assert view.status == "running", view.failure
    return database_id


async def backed_up(services: Any, database_id: str) -> Any:
    backup_id, _ = await services.backups.back_up(SYSTEM, BackUpDatabase(database_id=database_id))
    return await settled(
        services,
        lambda: services.read.databases.backup(backup_id),
        lambda v: v.status in ("verified", "failed"),
    )


async def test_a_mongodb_backup_is_verified_by_the_counts_of_its_restored_copy(
    tmp_path: Path,
) -> None:
    house = House(tmp_path)
    mongo = Mongo(house)
    async with house.running() as services:
        database_id = await running_mongo(services, house)
        mongo.held[f"rivetr-db-{database_id}"] = {"app.users": 3, "app.orders": 12}
        backup = await backed_up(services, database_id)
        assert backup.status == "verified", backup.failure
        assert backup.counts == {"app.users": 3, "app.orders": 12}
        assert backup.key.endswith(".archive")
        stored = services.settings.backups_path / "default" / "local" / backup.key
        assert stored.read_bytes().startswith(MAGIC)
        # the throwaway copy is gone, its volume too
        assert not await house.runtime.list_containers({"rivetr.throwaway": "true"})
        assert not await house.runtime.list_volumes({"rivetr.throwaway": "true"})


async def test_a_copy_that_answers_other_counts_fails_the_backup_at_check(
    tmp_path: Path,
) -> None:
    house = House(tmp_path)
    mongo = Mongo(house)
    async with house.running() as services:
        database_id = await running_mongo(services, house)
        mongo.held[f"rivetr-db-{database_id}"] = {"app.users": 3}
        mongo.lose_on_restore = True
        backup = await backed_up(services, database_id)
        assert (backup.status, backup.failed_step) == ("failed", "check")
        assert "app.users=2" in backup.failure
        assert "app.users=3" in backup.failure
        view = await services.read.databases.one(database_id)
        assert view.last_verified_backup_id is None
        assert view.last_backup_status == "failed"


async def test_a_backup_cut_off_by_a_stop_is_recorded_failed_at_the_next_start(
    tmp_path: Path,
) -> None:
    house = House(tmp_path)
    Mongo(house)
    async with house.running() as services:
        database_id = await running_mongo(services, house)
        state = await services.database_keeper.state(database_id)
    # asked for while no service ran its reactors: as one killed before taking it up leaves it
    await house.store.append(
        "backup-cutoffbackup",
        0,
        [
            BackupRequested(
                backup_id="cutoffbackup",
                database_id=database_id,
                team=state.team,
                project=state.project,
                environment=state.environment,
                kind="mongodb",
                image=state.image,
                target="local",
                reason="on_demand",
            )
        ],
        _meta(database_id),
    )
    # what its upload left on the local target, and another Rivetr's upload in the same place
    place = tmp_path / "backups" / "default" / "local" / "default" / "production"
    place.mkdir(parents=True)
    cut_off = place / "20261203T050000Z-cutoffbackup.archive.1a2b3c4d.partial"
    others = place / "20261203T050000Z-someonesupld.archive.5e6f7a8b.partial"
    for partial in (cut_off, others):
        partial.write_bytes(MAGIC)
    async with house.running() as services:
        view = await settled(
            services,
            lambda: services.read.databases.backup("cutoffbackup"),
            lambda v: v is not None and v.status == "failed",
        )
        assert view.failed_step == "dump"
        assert view.failure == "Rivetr stopped before the backup was finished"
    assert (cut_off.exists(), others.exists()) == (False, True)


def _meta(database_id: str) -> Any:
    from rivetr.adapters.eventstore.base import EventMeta

    return EventMeta(actor="test", resource=database_id)
