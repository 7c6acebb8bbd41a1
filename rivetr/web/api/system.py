"""/api/v1/health: is the service up, is the engine reachable, is the read model caught up."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from rivetr.service.queries.health import Health, HealthReads


@get("/health", opt={"exclude_from_auth": True}, tags=["system"])
async def health(health_reads: NamedDependency[HealthReads]) -> Health:
    """Open to all: says whether the service works, never what it holds."""
    return await health_reads.health()
