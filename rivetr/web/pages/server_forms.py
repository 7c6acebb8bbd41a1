"""The servers' forms: make the swarm, invite a node (answered by the page of the command to
run on it, whose join token is shown that once and kept nowhere) or join one through its
engine API over TLS (its certificates used for the join alone), set a server's labels, drain,
pause or activate it, remove it; set or forget the registry the servers pull from. Each goes
through the server service as the API does and waits for the engine's answer; a refusal, the
engine's in its own words, shows the form again as typed with the problem beside it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.swarm import ChangeNode, InitSwarm, InviteNode, JoinNode, RemoveNode
from rivetr.domain.swarm_build import SetBuildNode
from rivetr.domain.swarm_events import EngineUrl, NodeName
from rivetr.domain.swarm_registry import HostRegistry, SetRegistry
from rivetr.service.commands.servers import EngineCredentials
from rivetr.web.pages.forms import Act, Shown, problems_of, status_of, submitted
from rivetr.web.pages.label_lines import checked, parse_labels
from rivetr.web.pages.servers import SERVERS_PAGE, ServersPage

AVAILABILITIES = ("active", "pause", "drain")
NOT_STORED = {"Cache-Control": "no-store"}  # a page holding a secret: no cache keeps it


class SwarmForm(msgspec.Struct):
    csrf_token: str = ""
    advertise_addr: str = ""


class InviteForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    manager: str = ""  # a checkbox: "on" when ticked, absent (so "") when not


class JoinForm(msgspec.Struct):
    csrf_token: str = ""
    engine: str = ""
    manager: str = ""
    # the three PEMs of TLS, or SSH's key and the node's host key: used for the join, never
    # kept nor typed back into the form
    ca: str = ""
    cert: str = ""
    key: str = ""
    ssh_key: str = ""
    host_key: str = ""


class BuildNodeForm(msgspec.Struct):
    """A join's fields, named apart from the join form's on the same page; the keys are
    sealed once kept, never typed back."""

    csrf_token: str = ""
    build_engine: str = ""
    build_ca: str = ""
    build_cert: str = ""
    build_key: str = ""
    build_ssh_key: str = ""
    build_host_key: str = ""


# a build node's fields as the command and its credentials name them -> the form's inputs
BUILD_FIELDS = {
    name: f"build_{name}" for name in ("engine", "ca", "cert", "key", "ssh_key", "host_key")
}


class LabelsForm(msgspec.Struct):
    csrf_token: str = ""
    labels: str = ""


class AvailabilityForm(msgspec.Struct):
    csrf_token: str = ""
    availability: str = ""
    back: str = ""  # "list": the button was the list's, whose page it goes back to


class RemoveForm(msgspec.Struct):
    csrf_token: str = ""
    force: str = ""  # a checkbox


class RegistryForm(msgspec.Struct):
    csrf_token: str = ""
    address: str = ""
    username: str = ""
    password: str = ""  # never shown again, nor typed back into the form


class PlainForm(msgspec.Struct):
    csrf_token: str = ""


class HostedRegistryForm(msgspec.Struct):
    csrf_token: str = ""
    port: str = ""


class ServerForms(Controller):
    path = "/servers"
    include_in_schema = False
    dependencies = SERVERS_PAGE

    @post("/swarm")
    async def make_swarm(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[SwarmForm]
    ) -> Response[Any]:
        """Make the local engine a swarm manager, and wait for the engine to have done it."""
        typed = {"advertise_addr": data.advertise_addr.strip()}

        async def make() -> Response[Any]:
            await page.servers.init(page.layout.actor, InitSwarm(**typed))
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("swarm", exc, typed))

        return await submitted(page.layout, data.csrf_token, make, refused)

    @post("/invitations")
    async def invite(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[InviteForm]
    ) -> Response[Any]:
        """The page of the command to run on the node: its token is the swarm's secret, so the
        page is answered once and never stored by the browser or anything between."""
        typed = {"name": data.name.strip(), "manager": "on" if data.manager else ""}

        async def invite() -> Response[Any]:
            name = checked(typed["name"], NodeName, f"{typed['name']!r} is not a host name", "name")
            role = "manager" if data.manager else "worker"
            join = await page.servers.invite(page.layout.actor, InviteNode(name=name, role=role))
            context = page.layout.context(join=join)
            return Template("server_join.html", context=context, headers=NOT_STORED)

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("invite", exc, typed))

        return await submitted(page.layout, data.csrf_token, invite, refused)

    @post("/joins")
    async def join(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[JoinForm]
    ) -> Response[Any]:
        """Join a node through its engine API; the list shows it invited, then joined."""
        typed = {"engine": data.engine.strip(), "manager": "on" if data.manager else ""}

        async def join() -> Response[Any]:
            engine = checked(
                typed["engine"], EngineUrl, f"{typed['engine']!r} is no engine", "engine"
            )
            command = JoinNode(engine=engine, role="manager" if data.manager else "worker")
            await page.servers.join(page.layout.actor, command, EngineCredentials.of(data))
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("join", exc, typed))

        return await submitted(page.layout, data.csrf_token, join, refused)

    @post("/registry")
    async def set_registry(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[RegistryForm]
    ) -> Response[Any]:
        """Set the registry the servers pull from, its account tried first."""
        typed = {"address": data.address.strip(), "username": data.username.strip()}

        async def set_it() -> Response[Any]:
            fields = {**typed, "password": data.password}
            asked = msgspec.convert(fields, SetRegistry)  # as the API's body is checked
            await page.servers.set_registry(page.layout.actor, asked)
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("registry", exc, typed))

        return await submitted(page.layout, data.csrf_token, set_it, refused)

    @post("/registry/forget")
    async def forget_registry(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[PlainForm]
    ) -> Response[Any]:
        """Forget the registry set (the swarm_registry setting applies again)."""

        async def forget() -> Response[Any]:
            await page.servers.clear_registry(page.layout.actor)
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("registry", exc, {}))

        return await submitted(page.layout, data.csrf_token, forget, refused)

    @post("/build-node")
    async def set_build_node(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[BuildNodeForm]
    ) -> Response[Any]:
        """Build the images of apps on servers on the node whose engine is typed."""
        typed = {"build_engine": data.build_engine.strip()}

        async def choose() -> Response[Any]:
            engine = typed["build_engine"]
            engine = checked(engine, EngineUrl, f"{engine!r} is no engine", "build_engine")
            given = {name: getattr(data, field) for name, field in BUILD_FIELDS.items()}
            del given["engine"]
            credentials = EngineCredentials(**given)
            command = SetBuildNode(engine=engine)
            await page.servers.set_build_node(page.layout.actor, command, credentials)
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            shown = Shown(
                form="build",
                problems=problems_of(exc, BUILD_FIELDS),
                typed=typed,
                status=status_of(exc),
            )
            return await page.listed(shown)

        return await submitted(page.layout, data.csrf_token, choose, refused)

    @post("/build-node/clear")
    async def clear_build_node(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[PlainForm]
    ) -> Response[Any]:
        """Build on the manager again."""

        async def clear() -> Response[Any]:
            await page.servers.clear_build_node(page.layout.actor)
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("build", exc, {}))

        return await submitted(page.layout, data.csrf_token, clear, refused)

    @post("/registry/run")
    async def host_registry(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[HostedRegistryForm]
    ) -> Response[Any]:
        """Run the servers' registry on the manager, at the port typed."""
        typed = {"port": data.port.strip()}

        async def run() -> Response[Any]:
            port = typed["port"]
            if not port.isdigit():
                raise InvalidCommand(f"{port!r} is not a port", field="port")
            asked = msgspec.convert({"port": int(port)}, HostRegistry)
            await page.servers.host_registry(page.layout.actor, asked)
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("registry", exc, typed))

        return await submitted(page.layout, data.csrf_token, run, refused)

    @post("/registry/stop")
    async def stop_registry(
        self, page: NamedDependency[ServersPage], data: URLEncodedBody[PlainForm]
    ) -> Response[Any]:
        """Stop the registry run on the manager."""

        async def stop() -> Response[Any]:
            await page.servers.stop_hosted_registry(page.layout.actor)
            return Redirect("/servers")

        async def refused(exc: Exception) -> Response[Any]:
            return await page.listed(_shown("registry", exc, {}))

        return await submitted(page.layout, data.csrf_token, stop, refused)

    @post("/{server:str}/labels")
    async def label(
        self,
        server: FromPath[str],
        page: NamedDependency[ServersPage],
        data: URLEncodedBody[LabelsForm],
    ) -> Response[Any]:
        """Replace the server's labels with those typed (none: it carries none)."""

        async def label() -> Response[Any]:
            labels = parse_labels(data.labels, "labels")
            await page.servers.change(page.layout.actor, server, ChangeNode(labels=labels))
            return Redirect(f"/servers/{quote(server, safe='')}?changed")

        typed = {"labels": data.labels}
        return await _on_server(page, server, data.csrf_token, label, "labels", typed)

    @post("/{server:str}/availability")
    async def availability(
        self,
        server: FromPath[str],
        page: NamedDependency[ServersPage],
        data: URLEncodedBody[AvailabilityForm],
    ) -> Response[Any]:
        """Drain the server (its copies move), pause it (it takes no new ones) or activate it."""

        async def change() -> Response[Any]:
            if data.availability not in AVAILABILITIES:
                raise InvalidCommand(
                    f"availability is one of {', '.join(AVAILABILITIES)}, not {data.availability!r}"
                )
            asked = ChangeNode(availability=data.availability)  # type: ignore[arg-type]
            await page.servers.change(page.layout.actor, server, asked)
            if data.back == "list":
                return Redirect("/servers")
            return Redirect(f"/servers/{quote(server, safe='')}?changed")

        return await _on_server(page, server, data.csrf_token, change, "availability")

    @post("/{server:str}/remove")
    async def remove(
        self,
        server: FromPath[str],
        page: NamedDependency[ServersPage],
        data: URLEncodedBody[RemoveForm],
    ) -> Response[Any]:
        """Remove the server from the swarm: one still up only with `force`."""

        async def remove() -> Response[Any]:
            gone = await page.servers.server(page.layout.actor, server)
            await page.servers.remove(page.layout.actor, server, RemoveNode(force=bool(data.force)))
            return Redirect(f"/servers?removed={quote(gone.hostname, safe='')}")

        typed = {"force": "on" if data.force else ""}
        return await _on_server(page, server, data.csrf_token, remove, "remove", typed)


async def _on_server(
    page: ServersPage,
    server: str,
    presented: str,
    act: Act,
    form: str,
    typed: dict[str, str] | None = None,
) -> Response[Any]:
    """A form of one server's page: what `act` answers, or the server's page again with the
    refusal beside `form` and what was `typed` in it."""

    async def refused(exc: Exception) -> Response[Any]:
        return await page.one(server, _shown(form, exc, typed or {}))

    return await submitted(page.layout, presented, act, refused)


def _shown(form: str, exc: Exception, typed: dict[str, str]) -> Shown:
    return Shown(form=form, problems=problems_of(exc), typed=typed, status=status_of(exc))
