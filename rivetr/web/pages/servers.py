"""The dashboard's servers, for the instance's administrators: the swarm's servers with their
state, resources and labels, the nodes invited that have not joined, the form that makes the
swarm while there is none and the one that invites a node; and one server's page, where its
labels, availability and removal are changed. Anyone else gets the refusal (403) alone."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template
from litestar.status_codes import HTTP_403_FORBIDDEN

from rivetr.domain.errors import DomainError, Forbidden
from rivetr.domain.swarm_events import NodeName
from rivetr.service.commands.servers import ServerService
from rivetr.web.pages.forms import Shown
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.label_lines import label_lines


@dataclass(frozen=True)
class ServersPage:
    """The servers' pages, as they are or with what a form made of them."""

    layout: Layout
    servers: ServerService

    async def listed(self, shown: Shown | None = None, *, removed: str = "") -> Template:
        """The list, with a refused form (`shown`), if any, and the banner of a server just
        `removed`; to whoever is not an instance administrator, the refusal alone (403)."""
        shown = shown or Shown()
        try:
            swarm = await self.servers.swarm(self.layout.actor)
        except DomainError as exc:
            return self._refused(shown, exc)
        removed = removed if _node_name(removed) else ""  # the redirect's: nothing else is said
        return self.layout.page(
            "servers.html", shown.status, swarm=swarm, shown=shown, removed=removed
        )

    async def one(self, ref: str, shown: Shown | None = None, *, changed: bool = False) -> Template:
        """One server's page (`ref`: its node id or host name), or why there is none."""
        shown = shown or Shown()
        try:
            server = await self.servers.server(self.layout.actor, ref)
        except Forbidden as exc:
            return self._refused(shown, exc)
        except DomainError as exc:  # not (or no longer) in the swarm
            return self.layout.error(f"{exc}.", exc.status)
        typed = shown.typed if shown.form == "labels" else {}
        labels = typed.get("labels", label_lines(server.labels))
        copies = await self.servers.copies_on(self.layout.actor, ref)
        return self.layout.page(
            "server.html",
            shown.status,
            server=server,
            shown=shown,
            labels=labels,
            changed=changed,
            copies=copies,
        )

    def _refused(self, shown: Shown, exc: DomainError) -> Template:
        # the refusal of what was asked, if something was, else of seeing the page
        refused = shown.problems.get("") or str(exc)
        return self.layout.page("servers.html", HTTP_403_FORBIDDEN, refused=refused)


def provide_servers_page(
    layout: NamedDependency[Layout], servers: NamedDependency[ServerService]
) -> ServersPage:
    return ServersPage(layout, servers)


SERVERS_PAGE = {"page": Provide(provide_servers_page, sync_to_thread=False)}


class ServerPages(Controller):
    path = "/servers"
    include_in_schema = False
    dependencies = SERVERS_PAGE

    @get("/")
    async def servers_page(self, page: NamedDependency[ServersPage]) -> Template:
        return await page.listed(removed=page.layout.request.query_params.get("removed", ""))

    @get("/{server:str}")
    async def server_page(
        self, server: FromPath[str], page: NamedDependency[ServersPage]
    ) -> Template:
        return await page.one(server, changed="changed" in page.layout.request.query_params)


def _node_name(text: str) -> bool:
    try:
        msgspec.convert(text, NodeName)
    except msgspec.ValidationError:
        return False
    return True
