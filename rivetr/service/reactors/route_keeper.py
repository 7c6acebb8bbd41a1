"""The route keeper: keeps the proxy's route table equal to what the log says is live.

Each app's domains point at its live release's host port, or, for an app on servers, at the
copies its traffic was balanced over. The table is rebuilt from the read
model whenever an event that can move traffic is recorded (a switch, a rollback, a restart, a
retirement, domains changed, an app deleted) and swapped in whole, so requests never see half a
change."""

from __future__ import annotations

import logging

from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.proxy import Balanced, Parked, ProxyServer, Route, Upstream
from rivetr.projections.registry import ReadModel
from rivetr.projections.runner import ProjectionRunner

log = logging.getLogger(__name__)

ROUTING_EVENTS = frozenset(
    {
        "app.created",
        "app.settings_changed",
        "app.deleted",
        "deployment.traffic_switched",
        "deployment.traffic_balanced",
        "deployment.copies_changed",
        "deployment.rolled_back",
        "deployment.restarted",
        "deployment.retired",
        "stack.created",
        "stack.settings_changed",
        "stack.deleted",
        "stack_release.switched",
        "stack_release.service_balanced",
        "stack_release.retired",
    }
)
UPSTREAM_HOST = "127.0.0.1"  # releases publish their port on loopback only


async def route_table(read: ReadModel) -> dict[str, Route]:
    """Each app's domains to its live release, or, while it has none, to a page saying so."""
    routes: dict[str, Route] = {}
    for app in await read.apps.every():
        if not app.domains:
            continue
        release = await read.deployments.release(app.id)
        upstream: Route
        if release is not None and release.members:
            members = tuple(
                Upstream(app.name, m.address, m.port, release.deployment_id)
                for m in release.members
            )
            strategy = "least_connections" if release.balance == "least_connections" else None
            upstream = Balanced(app.name, release.deployment_id, members, strategy or "round_robin")
        elif release is None or release.host_port is None:
            upstream = Parked(app.name)
        else:
            upstream = Upstream(app.name, UPSTREAM_HOST, release.host_port, release.deployment_id)
        for domain in app.domains:
            routes[domain] = upstream
    routes.update(await stack_routes(read))
    return routes


async def stack_routes(read: ReadModel) -> dict[str, Route]:
    """Each stack's domains to the container of its live release that serves their service on
    their port (or, for a service on servers, balanced over its copies), or, while none does,
    to a page saying so."""
    routes: dict[str, Route] = {}
    for stack in await read.stacks.every():
        if not any(route.domains for route in stack.routes):
            continue
        release = stack.live_release_id
        services = {s.service: s for s in await read.stacks.services_of(release)} if release else {}
        for route in stack.routes:
            name = f"{stack.name}/{route.service}"
            served = services.get(route.service)
            port = served.host_ports.get(route.port) if served else None
            copies = served.members.get(route.port) if served else None
            upstream: Route = Parked(name)
            if release is not None and copies:
                members = tuple(Upstream(name, m.address, m.port, release) for m in copies)
                upstream = Balanced(name, release, members)
            elif release is not None and port is not None:
                upstream = Upstream(name, UPSTREAM_HOST, port, release)
            for domain in route.domains:
                routes[domain] = upstream
    return routes


class RouteKeeper:
    def __init__(
        self, store: EventStore, runner: ProjectionRunner, read: ReadModel, proxy: ProxyServer
    ) -> None:
        self.store = store
        self.runner = runner
        self.read = read
        self.proxy = proxy

    async def refresh(self) -> None:
        self.proxy.routes.replace(await route_table(self.read))
        self.proxy.routes_changed()

    async def run(self, after: int) -> None:
        """Rebuild the table now, then after every event that can move traffic."""
        await self.refresh()
        async for recorded in self.store.subscribe(after):
            if recorded.type in ROUTING_EVENTS:
                await self.runner.wait_until(recorded.position)
                await self.refresh()
