"""/api/v1/health: is the service up, is the engine reachable, is the read model caught up."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.di import NamedDependency

from rivetr import __version__
from rivetr.bootstrap import Services


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


@get("/health", opt={"exclude_from_auth": True}, tags=["system"])
async def health(services: NamedDependency[Services]) -> Health:
    """Open to all: says whether the service works, never what it holds."""
    monitor = services.engine
    failures = dict(services.runner.failures)
    set_aside = dict(services.runner.streams_set_aside)
    return Health(
        status="degraded" if failures or set_aside else "ok",
        version=__version__,
        engine=EngineStatus(available=monitor.info is not None, detail=monitor.status),
        log_head=await services.store.head(),
        read_model_position=services.runner.position,
        projection_failures=failures,
        streams_set_aside=set_aside,
    )
