"""/api/v1/apps/{name}/at: what an app was, and what was running, at a point in time."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, QueryParameter

from rivetr.adapters.eventstore.export import recorded_form
from rivetr.bootstrap import Services
from rivetr.domain.access import Actor, Permission
from rivetr.domain.settings import AppName
from rivetr.service.queries.history import AppThen, app_at


async def readable_app_then(services: Services, actor: Actor, name: str, at: str) -> AppThen:
    """The app that had the name at `at`, as it was then, if the actor may read its team: the
    app's own, never that of whoever holds the name now (a deleted app's history stays
    readable to whoever could read it, and to nobody else)."""
    try:
        moment = recorded_form(at)
    except ValueError as exc:
        raise ClientException(str(exc)) from None
    then = await app_at(services.store, services.read, name, moment)
    if not then.id or not actor.can(Permission.READ, then.team):
        raise NotFoundException(f"no application named {name!r} at {at}")
    return then


@get("/apps/{name:str}/at", tags=["apps"])
async def app_then(
    name: FromPath[AppName],
    services: NamedDependency[Services],
    actor: NamedDependency[Actor],
    time: Annotated[
        str, QueryParameter(name="time", format="date-time", description="ISO 8601; UTC if bare")
    ],
) -> AppThen:
    """The app's settings and domains, its deployments with the status each had, and the
    release that was live, at `time`, folded from the log up to then."""
    return await readable_app_then(services, actor, name, time)
