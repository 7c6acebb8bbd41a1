"""Finding an app on the write side: by its id (its own stream), by the name it holds now, or as
the app a deployment belongs to. The state always comes from the log; the read model only
saves a look through the claims for the common case, and is checked against the log."""

from __future__ import annotations

from typing import Protocol

from rivetr.adapters.eventstore.base import EventStore
from rivetr.domain import application
from rivetr.domain.aggregates import APPS, CLAIMS
from rivetr.domain.application import AppState
from rivetr.domain.deployment import DeploymentState
from rivetr.service.commands.handler import folded


class AppsByName(Protocol):
    """The apps view's query the lookup uses (a hint, never trusted alone)."""

    async def id_named(self, name: str) -> str | None: ...


def is_legacy(app_id: str) -> bool:
    """Whether an id is one given to an app created before apps had ids."""
    return "." in app_id


class AppLookup:
    def __init__(self, store: EventStore, read: AppsByName | None = None) -> None:
        self.store = store
        self.read = read

    async def by_id(self, app_id: str) -> AppState:
        return await folded(self.store, APPS.at(app_id))

    async def by_name(self, name: str) -> AppState:
        """The live app named `name`, or a state that does not exist (with that name).

        The read model answers which app has the name (commands wait for it, so it knows
        what this process made); the claims are read only when its answer turns out stale,
        never for a name it does not know, so a flood of made-up names costs a lookup each."""
        if self.read is not None:
            hinted = await self.read.id_named(name)
            if hinted is None:
                return application.initial_state("", name)
            app = await self.by_id(hinted)
            if app.exists and app.name == name:
                return app
        holder = (await folded(self.store, CLAIMS.at())).names.get(name)
        if holder is not None:
            app = await self.by_id(holder.resource_id)
            if app.exists:
                return app
        return application.initial_state("", name)

    async def of_deployment(self, state: DeploymentState) -> AppState:
        """The app a deployment was requested for. One requested before apps had ids names
        its app only by name: that is the app holding the name now only if it, too, dates from
        before ids (a newer app of that name is another app)."""
        if state.app_id is not None:
            return await self.by_id(state.app_id)
        app = await self.by_name(state.app)
        if app.exists and is_legacy(app.app_id):
            return app
        return application.initial_state("", state.app)
