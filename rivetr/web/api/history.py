"""/api/v1/apps/{name}/at: what an app was, and what was running, at a point in time."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from rivetr.domain.access import Actor
from rivetr.domain.settings import AppName
from rivetr.service.queries.history import AppThen, HistoryReads


@get("/apps/{name:str}/at", tags=["apps"])
async def app_then(
    name: FromPath[AppName],
    history: NamedDependency[HistoryReads],
    actor: NamedDependency[Actor],
    time: Annotated[
        str, QueryParameter(name="time", format="date-time", description="ISO 8601; UTC if bare")
    ],
) -> AppThen:
    """The app's settings and domains, its deployments with the status each had, and the
    release that was live, at `time`, folded from the log up to then."""
    return await history.app_then(actor, name, time)
