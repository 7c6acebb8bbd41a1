"""The log on a real disk that fills up and comes back: every append is either acknowledged and
kept or refused as not recorded, the chain holds, and the store writes again by itself once the
disk does. (A read-only remount cannot be forced on a file system with files open for writing,
as the kernel does after a disk error: SQLite's codes for it are checked as such.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from rivetr.adapters.eventstore import EventMeta
from rivetr.adapters.eventstore.base import StreamAppend
from rivetr.adapters.eventstore.export import verify_store
from rivetr.adapters.eventstore.faults import StorageFault, storage_fault
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.adapters.eventstore.writer import AppendRequest, BatchWriter
from rivetr.domain.events import EngineLost
from tests.disks import resize, small_tmpfs

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

META = EventMeta(actor="system:test")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB disk: small enough to fill in a second."""
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        yield disk


async def fill(store: SqliteEventStore, most: int = 5000) -> tuple[list[int], StorageFault]:
    """Append until the disk refuses; the positions acknowledged and the refusal."""
    acknowledged: list[int] = []
    for n in range(most):
        try:
            recorded = await store.append(f"s-{n % 7}", None, [EngineLost(reason="x" * 900)], META)
        except StorageFault as fault:
            return acknowledged, fault
        acknowledged.append(recorded[-1].position)
    raise AssertionError(f"{most} appends and the disk is not full")


async def test_a_full_disk_refuses_appends_as_not_recorded_and_loses_none_acknowledged(
    small_disk: Path,
) -> None:
    store = await SqliteEventStore.open(small_disk / "events.db")
    try:
        acknowledged, fault = await fill(store)

        assert (fault.kind, fault.outcome) == ("full", "not_recorded")
        assert f"the disk holding {small_disk} is full" in fault.describe()
        assert store.fault is not None
        assert store.fault.fault.kind == "full"
        with pytest.raises(StorageFault):  # still full: refused again, counted
            await store.append("s-0", None, [EngineLost(reason="x" * 900)], META)
        assert store.fault.refused == 2
        # reads are still served, and hold exactly what was acknowledged
        assert await store.head() == acknowledged[-1] == len(acknowledged)
        assert await verify_store(store) == len(acknowledged)

        resize(small_disk, "4m")  # space comes back
        recorded = await store.append("s-0", None, [EngineLost(reason="back")], META)

        assert recorded[0].position == len(acknowledged) + 1
        assert store.fault is None
        assert await verify_store(store) == len(acknowledged) + 1
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("code", "kind"),
    [(13, "full"), (8, "read_only"), (264, "read_only"), (10, "io"), (3850, "io"), (14, "io")],
)
def test_sqlite_errors_of_the_disk_are_storage_faults(code: int, kind: str) -> None:
    error = sqlite3.OperationalError("from the disk")
    error.sqlite_errorcode = code
    fault = storage_fault(error, Path("/data/events.db"), "unknown")
    assert fault is not None
    assert (fault.kind, fault.outcome) == (kind, "unknown")


def test_errors_not_of_the_disk_are_not_storage_faults() -> None:
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5
    assert storage_fault(locked, Path("/data/events.db"), "unknown") is None
    assert storage_fault(ValueError("a bug"), Path("/data/events.db"), "unknown") is None
    assert storage_fault(OSError(28, "No space left"), Path("/d/e.db"), "unknown").kind == "full"


class FailingCommit:
    """The writer's connection, whose COMMIT fails as a failing disk's can: after landing
    (`land`), or rolled back by SQLite itself; and, with `blind`, a disk that cannot even be
    read afterwards to tell."""

    def __init__(self, inner: sqlite3.Connection, *, land: bool, blind: bool = False) -> None:
        self.inner = inner
        self.land = land
        self.blind = blind
        self.failed = False

    @property
    def in_transaction(self) -> bool:
        return self.inner.in_transaction

    def execute(self, sql: str, *args: object) -> object:
        if sql == "COMMIT":
            self.inner.execute("COMMIT" if self.land else "ROLLBACK")
            self.failed = True
            raise disk_error("disk I/O error", 10)
        if self.failed and self.blind:
            raise disk_error("disk I/O error", 266)
        return self.inner.execute(sql, *args)

    def executemany(self, sql: str, rows: object) -> object:
        return self.inner.executemany(sql, rows)  # type: ignore[arg-type]

    def close(self) -> None:
        self.inner.close()


def disk_error(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


def one_append(n: int) -> list[AppendRequest]:
    return [AppendRequest([StreamAppend("s", None, [EngineLost(reason=f"e{n}")])], META)]


@pytest.mark.parametrize(
    ("land", "blind", "outcome"),
    [(True, False, None), (False, False, "not_recorded"), (False, True, "unknown")],
)
def test_a_failed_commit_is_read_back_to_tell_what_the_caller_is_answered(
    tmp_path: Path, land: bool, blind: bool, outcome: str | None
) -> None:
    writer = BatchWriter(tmp_path / "events.db")
    try:
        writer.commit_batch(one_append(1))
        assert writer.conn is not None
        writer.conn = FailingCommit(writer.conn, land=land, blind=blind)  # type: ignore[assignment]

        if outcome is None:  # it landed: a success, whatever COMMIT said
            [recorded] = writer.commit_batch(one_append(2))
            assert isinstance(recorded, list)
            assert recorded[0].position == 2
        else:
            with pytest.raises(StorageFault) as raised:
                writer.commit_batch(one_append(2))
            assert (raised.value.kind, raised.value.outcome) == ("io", outcome)

        # the disk recovers; the writer writes on (on a new connection where it could not
        # trust the old one)
        disk_recovered(writer)
        [after] = writer.commit_batch(one_append(3))
        assert isinstance(after, list)
        assert after[0].position == (3 if outcome is None else 2)
    finally:
        writer.close()


def disk_recovered(writer: BatchWriter) -> None:
    """The failing connection's disk works again (a dropped one is reopened by the writer)."""
    if isinstance(writer.conn, FailingCommit):
        writer.conn = writer.conn.inner
