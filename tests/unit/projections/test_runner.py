"""The projection runner: checkpoints, failures, waiting, versions, rebuilds and following."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from rivetr.adapters.eventstore.base import EventMeta, EventStore, RecordedEvent
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.domain import application, tokens
from rivetr.domain.application import AppCommand
from rivetr.domain.commands import ChangeAppSettings, CreateApp, CreateToken, DeleteApp
from rivetr.domain.events import Event
from rivetr.projections.apps import AppsProjection
from rivetr.projections.audit import AuditProjection
from rivetr.projections.base import Projection
from rivetr.projections.failures import EventFailure
from rivetr.projections.registry import all_projections
from rivetr.projections.runner import ProjectionRunner

pytestmark = pytest.mark.anyio

META = EventMeta(actor="admin", correlation_id="req-1")


async def append(store: EventStore, command: AppCommand) -> int:
    """Decide `command` against the app's folded history, append the result, return the head."""
    stream = application.stream_id(command.name)
    history = [r.event for r in await store.read_stream(stream)]
    events = application.decide(application.fold(command.name, history), command)
    recorded = await store.append(stream, len(history), events, META)
    return recorded[-1].position


async def create_app(store: EventStore, name: str, **fields: Any) -> int:
    return await append(store, CreateApp(name=name, **fields))


async def delete_app(store: EventStore, name: str) -> int:
    return await append(store, DeleteApp(name=name))


async def seed(store: EventStore) -> int:
    """A short history touching every projection; returns the head."""
    await create_app(store, "web", port=3000, env={"SECRET": "s3cr3t"})
    await create_app(store, "api")
    await append(
        store, ChangeAppSettings(name="web", branch="develop", env={"SECRET": None, "DEBUG": "1"})
    )
    token: list[Event] = tokens.decide(
        tokens.TokenState(token_id="t1"),
        CreateToken(token_id="t1", name="ci", secret_hash="ab" * 32),
    )
    await store.append(tokens.stream_id("t1"), None, token, META)
    return await delete_app(store, "api")


def read_db(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def checkpoints(path: Path) -> dict[str, int]:
    return {
        name: position
        for name, position in read_db(path, "SELECT name, position FROM projection_checkpoints")
    }


def at_position(position: int) -> dict[str, int]:
    """Every registered projection at `position`."""
    return {projection.name: position for projection in all_projections()}


def dump(path: Path, tables: Sequence[str] = ("apps", "tokens", "audit")) -> dict[str, Any]:
    return {table: sorted(read_db(path, f"SELECT * FROM {table}")) for table in tables}


def delete_read_db(directory: Path) -> None:
    for file in directory.glob("read.db*"):  # with its -wal and -shm files, if any
        file.unlink()


class Recorder:
    """Writes one row per event it sees (no primary key, so a replayed event shows twice);
    can fail with `error` at `fail_at`, or hold the batch open at `gate_at`."""

    version = 1
    handles: frozenset[str] | None = None

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self.fail_at: int | None = None
        self.error: BaseException = RuntimeError("the view cannot take this event")
        self.gate_at: int | None = None
        self.entered = threading.Event()
        self.release = threading.Event()

    def create(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {self.name} (position INTEGER NOT NULL)")

    def drop(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"DROP TABLE IF EXISTS {self.name}")

    def apply(self, conn: sqlite3.Connection, event: RecordedEvent) -> None:
        conn.execute(f"INSERT INTO {self.name} VALUES (?)", (event.position,))
        if event.position == self.fail_at:
            raise self.error
        if event.position == self.gate_at:
            self.entered.set()
            self.release.wait(timeout=10)


class Crash(BaseException):
    """Stands for the process dying mid-batch: not an Exception, so nothing catches it."""


@pytest.fixture
async def store() -> AsyncIterator[InMemoryEventStore]:
    store = InMemoryEventStore()
    yield store
    await store.close()


@pytest.fixture
def read_path(tmp_path: Path) -> Path:
    return tmp_path / "read.db"


async def opened(
    store: EventStore, path: Path, projections: Sequence[Projection]
) -> ProjectionRunner:
    runner = ProjectionRunner(store, path, projections)
    await runner.open()
    return runner


async def test_catch_up_brings_every_checkpoint_to_the_head_and_stores_it(
    store: InMemoryEventStore, read_path: Path
) -> None:
    runner = await opened(store, read_path, all_projections())
    try:
        assert checkpoints(read_path) == at_position(0)
        head = await seed(store)

        assert await runner.catch_up() == head
        assert runner.position == head
        assert checkpoints(read_path) == at_position(head)

        more = await create_app(store, "worker")
        assert await runner.catch_up() == more
        assert checkpoints(read_path) == at_position(more)
    finally:
        await runner.close()


async def test_another_reader_sees_tables_and_checkpoints_move_together(
    store: InMemoryEventStore, read_path: Path
) -> None:
    for name in ("a", "b", "c", "d"):
        await create_app(store, name)
    gated = Recorder()
    gated.gate_at = 3
    runner = await opened(store, read_path, [AuditProjection(), gated])
    runner.page = 2
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner.catch_up)
            assert await anyio.to_thread.run_sync(gated.entered.wait, 5)

            # positions 3 and 4 are written but not committed: a reader sees batch one only
            assert checkpoints(read_path) == {"audit": 2, "recorder": 2}
            assert read_db(read_path, "SELECT position FROM audit ORDER BY 1") == [(1,), (2,)]
            assert read_db(read_path, "SELECT position FROM recorder ORDER BY 1") == [(1,), (2,)]
            gated.release.set()

        assert checkpoints(read_path) == {"audit": 4, "recorder": 4}
        assert read_db(read_path, "SELECT COUNT(*) FROM recorder") == [(4,)]
    finally:
        gated.release.set()
        await runner.close()


async def test_a_crash_mid_batch_keeps_tables_and_checkpoints_and_applies_each_event_once(
    store: InMemoryEventStore, read_path: Path
) -> None:
    head = await seed(store)
    recorder = Recorder()
    recorder.fail_at, recorder.error = 3, Crash()
    runner = await opened(store, read_path, [AuditProjection(), recorder])
    with pytest.raises(Crash):
        await runner.catch_up()
    await runner.close()
    assert checkpoints(read_path) == {"audit": 0, "recorder": 0}
    assert dump(read_path, ["audit", "recorder"]) == {"audit": [], "recorder": []}

    recorder.fail_at = None
    runner = await opened(store, read_path, [AuditProjection(), recorder])
    try:
        assert await runner.catch_up() == head
        rows = read_db(read_path, "SELECT position FROM recorder ORDER BY 1")
        assert rows == [(p,) for p in range(1, head + 1)]
    finally:
        await runner.close()


async def test_an_event_a_projection_cannot_apply_sets_its_stream_aside_and_the_rest_goes_on(
    store: InMemoryEventStore, read_path: Path
) -> None:
    head = await seed(store)  # web: 1, 3, 4; api: 2, 6; token t1: 5
    broken = Recorder("broken")
    broken.fail_at = 3
    runner = await opened(store, read_path, [*all_projections(), broken])
    runner.page = 2
    try:
        assert await runner.catch_up() == head

        assert runner.failures == {}
        assert runner.streams_set_aside == {"broken": 1}
        assert checkpoints(read_path) == {**at_position(head), "broken": head}
        # position 3 failed and took the rest of app-web (4) with it; other streams went on
        assert read_db(read_path, "SELECT position FROM broken ORDER BY 1") == [
            (1,),
            (2,),
            (5,),
            (6,),
        ]
        assert await runner.event_failures() == [
            EventFailure(
                projection="broken",
                stream_id="app-web",
                position=3,
                type="app.settings_changed",
                error="RuntimeError: the view cannot take this event",
                skipped=1,
                last_position=4,
            )
        ]

        more = await create_app(store, "worker")
        later = await append(store, ChangeAppSettings(name="web", port=4000))
        assert await runner.catch_up() == later
        assert (more,) in read_db(read_path, "SELECT position FROM broken")
        assert (later,) not in read_db(read_path, "SELECT position FROM broken")
        [failure] = await runner.event_failures(["broken"])
        assert (failure.skipped, failure.last_position) == (2, later)
        assert await runner.event_failures(["apps"]) == []

        broken.fail_at = None  # fixed: a rebuild forgets the failure and replays the stream
        assert await runner.rebuild(["broken"]) == later
        assert runner.streams_set_aside == {}
        assert await runner.event_failures() == []
        assert read_db(read_path, "SELECT COUNT(*) FROM broken") == [(later,)]
    finally:
        await runner.close()


async def test_a_projection_that_cannot_write_stays_behind_while_the_others_advance(
    store: InMemoryEventStore, read_path: Path
) -> None:
    head = await seed(store)
    broken = Recorder("broken")
    broken.fail_at, broken.error = 3, sqlite3.OperationalError("disk I/O error")
    runner = await opened(store, read_path, [*all_projections(), broken])
    runner.page = 2
    try:
        assert await runner.catch_up() == head

        assert runner.failures == {"broken": "OperationalError: disk I/O error"}
        # the batch holding position 3 was rolled back for it alone: no stream is to blame
        assert checkpoints(read_path) == {**at_position(head), "broken": 2}
        assert read_db(read_path, "SELECT position FROM broken ORDER BY 1") == [(1,), (2,)]
        assert await runner.event_failures() == []
        assert [row[0] for row in dump(read_path)["apps"]] == ["web"]

        more = await create_app(store, "worker")
        assert await runner.catch_up() == more
        assert checkpoints(read_path)["audit"] == more
        assert checkpoints(read_path)["broken"] == 2

        broken.fail_at = None  # the disk is back: a rebuild clears the failure and replays
        assert await runner.rebuild(["broken"]) == more
        assert runner.failures == {}
        assert checkpoints(read_path)["broken"] == more
        assert read_db(read_path, "SELECT COUNT(*) FROM broken") == [(more,)]
    finally:
        await runner.close()


async def test_a_projection_stopped_by_its_disk_tries_again_by_itself_and_misses_nothing(
    store: InMemoryEventStore, read_path: Path
) -> None:
    await seed(store)
    broken = Recorder("broken")
    broken.fail_at, broken.error = 2, sqlite3.OperationalError("database or disk is full")
    runner = await opened(store, read_path, [*all_projections(), broken])
    runner.page = 2
    try:
        await runner.catch_up()
        assert "broken" in runner.failures
        more = await create_app(store, "worker")
        await runner.catch_up()  # not due yet: the others move on without it
        assert checkpoints(read_path)["broken"] == 0

        broken.fail_at = None  # space is back
        runner.retry_after_s = 0.0
        runner._retry_at.clear()
        assert await runner.catch_up() == more
        assert runner.failures == {}
        assert checkpoints(read_path) == at_position(more) | {"broken": more}
        # every event once, none skipped while it was behind the others
        assert read_db(read_path, "SELECT position FROM broken ORDER BY 1") == [
            (p,) for p in range(1, more + 1)
        ]
    finally:
        await runner.close()


async def test_catch_up_returns_when_every_projection_has_failed(
    store: InMemoryEventStore, read_path: Path
) -> None:
    await seed(store)
    broken = Recorder("broken")
    broken.fail_at, broken.error = 1, sqlite3.OperationalError("database is locked")
    runner = await opened(store, read_path, [broken])
    try:
        with anyio.fail_after(5):
            await runner.catch_up()
        assert "broken" in runner.failures
        assert checkpoints(read_path) == {"broken": 0}
        assert not await runner.wait_until(1, timeout=0.05)
    finally:
        await runner.close()


async def test_run_waits_quietly_when_every_projection_has_failed(
    store: InMemoryEventStore, read_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(store)
    waits = 0
    real_wait = store.wait_for_new

    async def counted_wait(after: int, *args: Any) -> int:
        nonlocal waits
        waits += 1
        # a run() that spins never sleeps, so fail here rather than hang the event loop
        assert waits < 10, "run() spins: every wait for new events returns at once"
        return await real_wait(after, *args)

    monkeypatch.setattr(store, "wait_for_new", counted_wait)
    broken = Recorder("broken")
    broken.fail_at, broken.error = 1, sqlite3.OperationalError("database is locked")
    runner = await opened(store, read_path, [broken])
    try:
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(runner.run)
                await anyio.sleep(0.05)
                await create_app(store, "worker")
                await anyio.sleep(0.05)
                tg.cancel_scope.cancel()
        assert "broken" in runner.failures
        assert waits == 2  # one wait before the append, one after it
    finally:
        await runner.close()


async def test_wait_until_is_true_once_caught_up_and_false_after_its_timeout(
    store: InMemoryEventStore, read_path: Path
) -> None:
    head = await seed(store)
    runner = await opened(store, read_path, all_projections())
    try:
        # nothing follows the log (no run() task), so wait_until catches up by itself
        assert await runner.wait_until(head, timeout=0.05)
        assert runner.position == head
        assert await runner.wait_until(1, timeout=0.05)

        with anyio.fail_after(5):
            assert not await runner.wait_until(head + 1, timeout=0.1)

        waited: list[bool] = []

        async def wait_for_next() -> None:
            waited.append(await runner.wait_until(head + 1, timeout=5))

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_for_next)
                await anyio.sleep(0.01)
                await create_app(store, "worker")
                await runner.catch_up()
        assert waited == [True]
    finally:
        await runner.close()


class AppsNext(AppsProjection):
    version = AppsProjection.version + 1


async def test_a_new_projection_version_drops_and_rebuilds_only_that_view(
    store: InMemoryEventStore, read_path: Path
) -> None:
    head = await seed(store)
    runner = await opened(store, read_path, [AppsProjection(), AuditProjection()])
    await runner.catch_up()
    before = dump(read_path, ["apps", "audit"])
    await runner.close()
    conn = sqlite3.connect(read_path)
    with conn:
        conn.execute("UPDATE apps SET port = 1")  # a trace that only a rebuild removes
        conn.execute("UPDATE audit SET actor = 'trace'")
    conn.close()

    same = await opened(store, read_path, [AppsProjection(), AuditProjection()])
    await same.close()
    assert read_db(read_path, "SELECT DISTINCT port FROM apps") == [(1,)]

    runner = await opened(store, read_path, [AppsNext(), AuditProjection()])
    try:
        assert read_db(read_path, "SELECT COUNT(*) FROM apps") == [(0,)]
        assert read_db(read_path, "SELECT * FROM projection_checkpoints ORDER BY name") == [
            ("apps", 0, AppsProjection.version + 1),
            ("audit", head, AuditProjection.version),
        ]
        assert await runner.catch_up() == head
        assert dump(read_path, ["apps"]) == {"apps": before["apps"]}
        assert read_db(read_path, "SELECT DISTINCT actor FROM audit") == [("trace",)]
    finally:
        await runner.close()


async def test_rebuild_by_name_rebuilds_that_view_alone_and_refuses_unknown_names(
    store: InMemoryEventStore, read_path: Path
) -> None:
    head = await seed(store)
    runner = await opened(store, read_path, all_projections())
    try:
        await runner.catch_up()
        before = dump(read_path)
        conn = sqlite3.connect(read_path)
        with conn:
            conn.execute("UPDATE apps SET port = 1")
            conn.execute("UPDATE audit SET actor = 'trace'")
        conn.close()

        assert await runner.rebuild(["apps"]) == head
        assert dump(read_path)["apps"] == before["apps"]
        assert read_db(read_path, "SELECT DISTINCT actor FROM audit") == [("trace",)]

        with pytest.raises(KeyError, match="nope"):
            await runner.rebuild(["nope"])
        with pytest.raises(KeyError, match="nope"):
            await runner.rebuild(["apps", "nope"])
        assert checkpoints(read_path) == at_position(head)

        assert await runner.rebuild() == head
        assert dump(read_path) == before
    finally:
        await runner.close()


async def test_deleting_read_db_loses_nothing(tmp_path: Path) -> None:
    store = await SqliteEventStore.open(tmp_path / "events.db")
    try:
        head = await seed(store)
        read_path = tmp_path / "read.db"
        runner = await opened(store, read_path, all_projections())
        assert await runner.catch_up() == head
        before = dump(read_path)
        await runner.close()
        assert all(before.values())

        delete_read_db(tmp_path)
        runner = await opened(store, read_path, all_projections())
        try:
            assert await runner.catch_up() == head
            assert dump(read_path) == before
            assert checkpoints(read_path) == at_position(head)
        finally:
            await runner.close()
    finally:
        await store.close()


async def test_run_follows_new_appends_until_cancelled(
    store: InMemoryEventStore, read_path: Path
) -> None:
    head = await seed(store)
    runner = await opened(store, read_path, all_projections())
    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(runner.run)
                assert await runner.wait_until(head, timeout=5)

                for name in ("worker", "cron"):
                    position = await create_app(store, name)
                    assert await runner.wait_until(position, timeout=5)
                    assert (name,) in read_db(read_path, "SELECT name FROM apps")
                position = await delete_app(store, "worker")
                assert await runner.wait_until(position, timeout=5)
                tg.cancel_scope.cancel()

        assert sorted(read_db(read_path, "SELECT name FROM apps")) == [("cron",), ("web",)]
        assert checkpoints(read_path)["audit"] == position
    finally:
        await runner.close()
