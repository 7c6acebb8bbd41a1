"""/api/v1/servers: the instance's machines, for its administrators alone. Make the local
engine a swarm manager, invite a node (the answer holds the command to run on it) or join one
through its engine API over TLS, list the
servers with their state, resources and labels, label, drain or activate one, remove one; set
the registry the servers pull from, or run one on the manager; choose the node apps on servers
are built on.
Each change is recorded and carried out against the engine before the answer; a refusal of the
engine is a 502 with its words."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from rivetr.domain.access import Actor
from rivetr.domain.swarm import ChangeNode, InitSwarm, InviteNode, JoinNode, RemoveNode
from rivetr.domain.swarm_build import SetBuildNode
from rivetr.domain.swarm_events import EngineUrl, NodeRole
from rivetr.domain.swarm_registry import HostRegistry, SetRegistry
from rivetr.service.commands.server_views import (
    BuildNodeView,
    InvitationView,
    JoinCommand,
    RegistryView,
    ServerView,
    SwarmView,
)
from rivetr.service.commands.servers import EngineCredentials, ServerService
from rivetr.web.openapi import problems

# what the engine (or a registry through it) refuses, or no engine to ask: its words, a 502
ENGINE_REFUSAL = problems(502)


# PEM certificates and keys, an OpenSSH key, a host key line
Secret = Annotated[str, msgspec.Meta(max_length=65536)]


class BuildNodeBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A node's engine API and what reaching it takes; kept, the keys sealed, to reach it at
    each build. Over TLS (`tcp://host:2376`, `dockerd --tlsverify`): the CA that signed its
    certificate, and the client certificate and key it takes, in PEM. Through SSH
    (`ssh://user@host[:port]`, to its `/var/run/docker.sock`): the private key the user signs
    in with, and the node's host key as `ssh-keyscan` prints it, the only one taken."""

    engine: EngineUrl
    ca: Secret = ""
    cert: Secret = ""
    key: Secret = ""
    ssh_key: Secret = ""
    host_key: Secret = ""


class EngineJoin(BuildNodeBody, kw_only=True, forbid_unknown_fields=True):
    """A node's engine API and what reaching it takes (as a build node's), used for the join
    alone, never kept; and the role it joins in."""

    role: NodeRole = "worker"


class ServersController(Controller):
    path = "/servers"
    tags = ["servers"]

    @get("/")
    async def list_servers(
        self, servers: NamedDependency[ServerService], actor: NamedDependency[Actor]
    ) -> SwarmView:
        """The swarm (`active` false until one is made), its servers, manager first, and the
        nodes invited that have not joined yet."""
        return await servers.swarm(actor)

    @post("/swarm", status_code=HTTP_201_CREATED, responses=ENGINE_REFUSAL)
    async def make_swarm(
        self,
        data: JSONBody[InitSwarm],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> SwarmView:
        """Make the local engine the manager of a new swarm, reached by its nodes at
        `advertise_addr` (an address of this machine they can reach, port 2377)."""
        return await servers.init(actor, data)

    @put("/swarm/registry", responses=ENGINE_REFUSAL)
    async def set_registry(
        self,
        data: JSONBody[SetRegistry],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> RegistryView:
        """The registry every server pulls the apps' images from (`registry.example.com`,
        `10.0.0.1:5000`), with the account to push and pull as (`username`, `password`), if
        it wants one. The account is tried against the registry first (a refusal is a 502 in
        its words); its password is sealed, never shown again. Replaces the `swarm_registry`
        setting while set."""
        return await servers.set_registry(actor, data)

    @delete("/swarm/registry", status_code=HTTP_204_NO_CONTENT, responses=problems(404))
    async def clear_registry(
        self, servers: NamedDependency[ServerService], actor: NamedDependency[Actor]
    ) -> None:
        """Forget the registry set (and its account); the `swarm_registry` setting, if any,
        applies again."""
        await servers.clear_registry(actor)

    @post("/swarm/registry/hosted", status_code=HTTP_201_CREATED, responses=ENGINE_REFUSAL)
    async def host_registry(
        self,
        data: JSONBody[HostRegistry],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> RegistryView:
        """Run the registry the servers pull from here, on the manager, answering at its
        address and `port` (5000) over TLS with certificates of a CA made for it alone. Every
        server's engine is handed that CA and a client certificate, the only client the
        registry takes: no account. Answered once it answers and every server holds them
        (a failure is a 502 in the engine's words, recorded). One registry at a time: one set
        is forgotten first."""
        return await servers.host_registry(actor, data)

    @delete("/swarm/registry/hosted", status_code=HTTP_204_NO_CONTENT, responses=problems(404, 502))
    async def stop_hosted_registry(
        self, servers: NamedDependency[ServerService], actor: NamedDependency[Actor]
    ) -> None:
        """Stop the registry run on the manager (404: none runs); the servers no longer hold
        its certificates, and its images stay in the manager's volume `rivetr-registry`."""
        await servers.stop_hosted_registry(actor)

    @put("/swarm/build-node", responses=ENGINE_REFUSAL)
    async def set_build_node(
        self,
        data: JSONBody[BuildNodeBody],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> BuildNodeView:
        """Build the images of apps on servers on a node of the swarm, whose engine API is
        reached as a join reaches one (TLS or SSH, the same fields), and push them from there.
        Its engine is asked which node it is first: one of no swarm's, or of another, is a
        422; a refusal or silence a 502 in its words, nothing recorded. The keys are sealed,
        never shown again."""
        command = SetBuildNode(engine=data.engine)
        return await servers.set_build_node(actor, command, EngineCredentials.of(data))

    @delete("/swarm/build-node", status_code=HTTP_204_NO_CONTENT, responses=problems(404))
    async def clear_build_node(
        self, servers: NamedDependency[ServerService], actor: NamedDependency[Actor]
    ) -> None:
        """Build on the manager again (404: no build node was chosen)."""
        await servers.clear_build_node(actor)

    @post("/invitations", status_code=HTTP_201_CREATED, responses=ENGINE_REFUSAL)
    async def invite(
        self,
        data: JSONBody[InviteNode],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> JoinCommand:
        """Invite a node by its host name: run the `command` of the answer as root on it. A
        node that has not joined by `expires_at` is recorded as never having joined."""
        return await servers.invite(actor, data)

    @post("/joins", status_code=HTTP_201_CREATED, responses=ENGINE_REFUSAL)
    async def join(
        self,
        data: JSONBody[EngineJoin],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> InvitationView:
        """Join a node through its engine API, over TLS or SSH, as `docker -H ... swarm join`
        would: it is invited by the host name its engine gives, then joined; it is listed
        once the swarm has it. What the URL's way needs missing, or a host key that is none,
        is a 422. The engine's refusal (or silence, a certificate not the CA's, a host key not
        the node's) is a 502 in its words; recorded as `swarm.node_join_failed` once invited."""
        command = JoinNode(engine=data.engine, role=data.role)
        return await servers.join(actor, command, EngineCredentials.of(data))

    @get("/{server:str}")
    async def get_server(
        self,
        server: FromPath[str],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> ServerView:
        """One server, named by its host name or its node id."""
        return await servers.server(actor, server)

    @patch("/{server:str}", responses=ENGINE_REFUSAL)
    async def change_server(
        self,
        server: FromPath[str],
        data: JSONBody[ChangeNode],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
    ) -> ServerView:
        """Replace its labels (`{"labels": {"zone": "eu"}}`) and/or set its availability
        (`active`, `pause`: no new tasks, or `drain`: its tasks move to other servers)."""
        return await servers.change(actor, server, data)

    @delete("/{server:str}", status_code=HTTP_204_NO_CONTENT, responses=ENGINE_REFUSAL)
    async def remove_server(
        self,
        server: FromPath[str],
        servers: NamedDependency[ServerService],
        actor: NamedDependency[Actor],
        force: FromQuery[bool] = False,
    ) -> None:
        """Remove a drained or down server; one still taking tasks only with `force=true`."""
        await servers.remove(actor, server, RemoveNode(force=force))
