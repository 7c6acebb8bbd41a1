"""Reading apps as an actor may: the apps of the teams and projects it reads, and each app's
deliveries, certificates and previews awaiting approval. Read authorisation lives here, beside
the commands' write authorisation."""

from __future__ import annotations

from rivetr.domain.access import Actor, Permission, authorize
from rivetr.projections.apps import AppView
from rivetr.projections.certificates import CertificateView
from rivetr.projections.registry import ReadModel
from rivetr.projections.variables import ScopeView
from rivetr.projections.webhooks import DeliveryView, ForkPreviewView
from rivetr.service.queries.refusals import Absent


class AppReads:
    def __init__(self, read: ReadModel) -> None:
        self.read = read

    async def visible(self, actor: Actor) -> list[AppView]:
        """The apps of every team and project the actor reads."""
        places = actor.readable_places()
        if places is None:
            return await self.read.apps.every()
        found = await self.read.apps.every(places.team_names())
        return found if places.whole() else [a for a in found if places.sees(a.team, a.project)]

    async def readable(self, actor: Actor, name: str) -> AppView:
        """The app, if it exists and the actor may see it: another team's app (or one of a
        project the actor is kept out of) is as absent as one that does not exist, so names do
        not leak across teams."""
        view = await self.read.apps.named(name)
        if view is None or not actor.may_read(view.team, view.project):
            raise Absent(f"no application named {name!r}")
        return view

    async def allowed(self, actor: Actor, name: str, permission: Permission) -> AppView:
        """The app, once the actor may act on it with `permission`: refused (403) before work
        the command itself would authorise only at its end."""
        view = await self.read.apps.named(name)
        if view is None:
            raise Absent(f"no application named {name!r}")
        authorize(actor, permission, view.team, view.project)
        return view

    async def by_id(self, app_id: str) -> AppView | None:
        """An app by its id, for a page that already checked the actor may read what leads
        to it (a deployment of it)."""
        return await self.read.apps.by_id(app_id)

    async def deliveries(self, actor: Actor, name: str, limit: int = 50) -> list[DeliveryView]:
        """The app's latest webhook deliveries, newest first."""
        return await self.deliveries_of(await self.readable(actor, name), limit)

    async def certificates(self, actor: Actor, name: str) -> list[CertificateView]:
        return await self.certificates_of(await self.readable(actor, name))

    async def pending_previews(self, actor: Actor, name: str) -> list[ForkPreviewView]:
        """Previews of pull requests from forks whose head awaits approval."""
        return await self.pending_previews_of(await self.readable(actor, name))

    # The same of an app `readable` gave.

    async def deliveries_of(self, app: AppView, limit: int = 50) -> list[DeliveryView]:
        return await self.read.webhooks.deliveries(app.id, limit)

    async def certificates_of(self, app: AppView) -> list[CertificateView]:
        return await self.read.certificates.of_app(app.id)

    async def pending_previews_of(self, app: AppView) -> list[ForkPreviewView]:
        return await self.read.webhooks.pending_previews(app.id)

    async def variable_scopes_of(self, app: AppView) -> list[ScopeView]:
        """Where each of the app's variables goes (none recorded: runtime and preview)."""
        recorded = await self.read.variables.scopes(app.id)
        return [recorded.get(name) or ScopeView(name=name) for name in app.env]

    async def counterparts_of(self, app: AppView) -> list[AppView]:
        """The live apps a clone paired `app` with (of its team, as a clone stays in one): the
        apps its live release may be promoted to."""
        found = []
        for app_id in await self.read.counterparts.of(app.id):
            other = await self.read.apps.by_id(app_id)
            if other is not None and other.team == app.team:
                found.append(other)
        return found
