"""Two projection runners over one in-memory log, for the property tests of one view: one
applies each event as it arrives, the other reads the whole log from zero; both must hold the
same rows, and so must the first once rebuilt."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain.events import Event
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner


def dump(path: Path, tables: Sequence[str]) -> list[list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return [sorted(conn.execute(f"SELECT * FROM {table}")) for table in tables]
    finally:
        conn.close()


class TwoRunners:
    def __init__(self, directory: Path, tables: Sequence[str]) -> None:
        self.directory = directory
        self.tables = tables
        self.store = InMemoryEventStore()
        self.incremental = ProjectionRunner(
            self.store, directory / "incremental.db", all_projections()
        )
        self.from_zero = ProjectionRunner(self.store, directory / "from-zero.db", all_projections())

    async def __aenter__(self) -> TwoRunners:
        await self.incremental.open()
        await self.from_zero.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.incremental.close()
        await self.from_zero.close()

    async def append(self, stream: str, events: Sequence[Event], meta: EventMeta) -> None:
        """Append to the log; the incremental view reads it at once."""
        await self.store.append(stream, ANY_VERSION, events, meta)
        await self.incremental.catch_up()

    async def same_from_zero(self) -> list[list[tuple[object, ...]]]:
        """The view's rows, once both runners have read the whole log and hold the same."""
        await self.incremental.catch_up()
        assert await self.from_zero.catch_up() == await self.store.head()
        assert self.incremental.failures == {} == self.from_zero.failures
        built = dump(self.directory / "incremental.db", self.tables)
        assert built == dump(self.directory / "from-zero.db", self.tables)
        return built

    async def same_rebuilt(self, built: list[list[tuple[object, ...]]]) -> None:
        assert await self.incremental.rebuild() == await self.store.head()
        assert dump(self.directory / "incremental.db", self.tables) == built

    async def read(self) -> ReadModel:
        """The incremental view's read model (closed by the caller)."""
        return await ReadModel.open(self.directory / "incremental.db")
