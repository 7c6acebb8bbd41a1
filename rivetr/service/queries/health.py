"""Whether the service works: the engine, the log's head and how far the read model has
followed it, and what the projections set aside; never what the service holds."""

from __future__ import annotations

import msgspec

from rivetr import __version__
from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.projections.runner import ProjectionRunner


class EngineStatus(msgspec.Struct, kw_only=True):
    available: bool
    detail: str


class Health(msgspec.Struct, kw_only=True):
    status: str
    version: str
    engine: EngineStatus
    log_head: int
    read_model_position: int
    projection_failures: dict[str, str]
    # per projection, how many streams it has set aside (an event it could not apply);
    # `rivetr projections rebuild` names them
    streams_set_aside: dict[str, int]


class HealthReads:
    def __init__(self, store: EventStore, runner: ProjectionRunner, engine: EngineMonitor) -> None:
        self.store = store
        self.runner = runner
        self.engine = engine

    async def health(self) -> Health:
        failures = dict(self.runner.failures)
        set_aside = dict(self.runner.streams_set_aside)
        return Health(
            status="degraded" if failures or set_aside else "ok",
            version=__version__,
            engine=EngineStatus(available=self.engine.info is not None, detail=self.engine.status),
            log_head=await self.store.head(),
            read_model_position=self.runner.position,
            projection_failures=failures,
            streams_set_aside=set_aside,
        )
