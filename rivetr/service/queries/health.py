"""Whether the service works: the engine, the log's head and how far the read model has
followed it, and what the projections set aside; never what the service holds."""

from __future__ import annotations

from datetime import datetime

import msgspec

from rivetr import __version__
from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.migrations import log_schema
from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.projections.runner import ProjectionRunner


class EngineStatus(msgspec.Struct, kw_only=True):
    available: bool
    detail: str


class StorageStatus(msgspec.Struct, kw_only=True):
    """Whether Rivetr's files take writes: a full, read-only or failing disk, in words."""

    log: str  # "ok", or what refused the latest appends and what to do
    read_model: str  # "ok", or why the read model cannot write
    since: datetime | None = None  # when the log's fault was first met
    appends_refused: int = 0


class Health(msgspec.Struct, kw_only=True):
    status: str
    version: str
    # the event log's schema (its newest migration): what a backup or an older Rivetr must read
    log_schema: int
    engine: EngineStatus
    log_head: int
    read_model_position: int
    projection_failures: dict[str, str]
    # per projection, how many streams it has set aside (an event it could not apply);
    # `rivetr projections rebuild` names them
    streams_set_aside: dict[str, int]
    storage: StorageStatus


class HealthReads:
    def __init__(self, store: EventStore, runner: ProjectionRunner, engine: EngineMonitor) -> None:
        self.store = store
        self.runner = runner
        self.engine = engine

    async def health(self) -> Health:
        failures = dict(self.runner.failures)
        set_aside = dict(self.runner.streams_set_aside)
        storage = self._storage()
        faulty = storage.log != "ok" or storage.read_model != "ok"
        return Health(
            status="degraded" if failures or set_aside or faulty else "ok",
            version=__version__,
            log_schema=log_schema(),
            engine=EngineStatus(available=self.engine.info is not None, detail=self.engine.status),
            log_head=await self.store.head(),
            read_model_position=self.runner.position,
            projection_failures=failures,
            streams_set_aside=set_aside,
            storage=storage,
        )

    def _storage(self) -> StorageStatus:
        fault, stalled = self.store.fault, self.runner.stalled_by
        return StorageStatus(
            log=fault.fault.describe() if fault else "ok",
            read_model=stalled or "ok",
            since=fault.since if fault else None,
            appends_refused=fault.refused if fault else 0,
        )
