"""The instance's servers as the API, the CLI and the dashboard ask for them: an instance
administrator makes the local engine a swarm manager, invites nodes (handed the join command,
whose token is read from the engine and never recorded), labels, drains and removes them.
Each change is asked in the log and carried out by the swarm keeper
(`reactors/swarm_keeper.py`), whose outcome the caller waits for, so a refusal of the engine
comes back as the answer and stays in the log."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn

import anyio
import msgspec

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.swarm.base import (
    SWARM_PORT,
    HostedRegistrySpec,
    RegistryCertificates,
    RegistryLogin,
    RemoteEngine,
    SwarmEngine,
)
from rivetr.adapters.swarm.registry_tls import make_certificates
from rivetr.domain import swarm
from rivetr.domain.access import SYSTEM, Actor, authorize_command
from rivetr.domain.aggregates import SWARM
from rivetr.domain.errors import DomainError, Forbidden
from rivetr.domain.event_base import Event
from rivetr.domain.swarm import (
    ChangeNode,
    InitSwarm,
    InviteNode,
    JoinNode,
    RemoveNode,
    SwarmState,
)
from rivetr.domain.swarm_build import SEAL_CONTEXT as BUILD_SEAL_CONTEXT
from rivetr.domain.swarm_build import (
    ClearBuildNode,
    SetBuildNode,
    decide_clear_build_node,
    decide_set_build_node,
)
from rivetr.domain.swarm_events import (
    STREAM,
    SwarmBuildNodeSet,
    SwarmInitialised,
    SwarmNodeChanged,
    SwarmNodeJoinFailed,
    SwarmNodeRemoved,
    SwarmOperationFailed,
    SwarmRegistryHosted,
)
from rivetr.domain.swarm_registry import (
    HOSTED_SEAL_CONTEXT,
    SEAL_CONTEXT,
    ClearRegistry,
    HostRegistry,
    SetRegistry,
    StopHostedRegistry,
    check_host_registry,
    check_registry,
    decide_clear_registry,
    decide_host_registry,
    decide_set_registry,
    decide_stop_hosted_registry,
)
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.commands.server_views import (
    BuildNodeView,
    CopyView,
    InvitationView,
    JoinCommand,
    RegistryView,
    ServerView,
    SwarmView,
    registry_view,
    server_view,
    view,
)

log = logging.getLogger(__name__)

JOIN_WAIT = timedelta(minutes=15)  # how long an invited node is waited for
# how long the registry Rivetr runs may take to answer, every node holding its certificates:
# a node may pull its image first
HOSTED_REGISTRY_WAIT_S = 180.0
OUTCOME_WAIT_S = 30.0  # how long a request waits for the keeper to carry a change out


class SwarmRefused(DomainError):
    """The engine refused a change of the swarm; its words are in the message (and the log)."""

    title = "Refused by the container engine"
    status = 502


def _authorize_read(actor: Actor) -> None:
    if not actor.administers_instance():
        raise Forbidden(
            f"{actor.label} does not administer this instance: only an instance admin sees"
            " its servers"
        )


class EngineCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """What reaching a node's engine takes. Over TLS (`tcp://`): the CA that signed the
    engine's certificate, and the client certificate and key it takes (PEM). Through SSH
    (`ssh://`): the private key the user signs in with, and the node's host key as
    `ssh-keyscan` prints it. Never recorded."""

    ca: str = ""
    cert: str = ""
    key: str = ""
    ssh_key: str = ""
    host_key: str = ""

    @classmethod
    def of(cls, given: object) -> EngineCredentials:
        """Those fields of a request's body or a form."""
        return cls(**{name: getattr(given, name) for name in cls.__struct_fields__})

    def __repr__(self) -> str:
        return "EngineCredentials(...)"  # the keys stay out of every traceback


class ServerService:
    def __init__(
        self,
        handler: CommandHandler,
        swarm_engine: Callable[[], SwarmEngine],
        clock: Clock,
        secrets: SecretBox,
        read: ReadModel,
        default_registry: str | None = None,
        hosted_registry_image: str = "registry:2",
    ) -> None:
        self.handler = handler
        self.swarm_engine = swarm_engine
        self.clock = clock
        self.secrets = secrets
        self.read = read
        self.default_registry = default_registry  # the swarm_registry setting
        self.hosted_registry_image = hosted_registry_image
        # one start or stop of the registry run here at a time: a second start would replace
        # the first's services, then stop them when the log refuses it
        self._registry_turn = anyio.Lock()

    @property
    def store(self) -> EventStore:
        return self.handler.store

    async def state(self) -> SwarmState:
        history = await self.store.read_stream(STREAM)
        return swarm.fold("", [recorded.event for recorded in history])

    async def swarm(self, actor: Actor) -> SwarmView:
        _authorize_read(actor)
        return view(await self.state(), self.default_registry)

    async def server(self, actor: Actor, ref: str) -> ServerView:
        _authorize_read(actor)
        state = await self.state()
        return server_view(state, swarm.node(state, ref))

    async def copies_on(self, actor: Actor, ref: str) -> list[CopyView]:
        """The copies of live releases on the server `ref` (any team's: the instance's
        administrators alone see servers), by app."""
        server = await self.server(actor, ref)
        return sorted(
            (
                CopyView(
                    app=release.app,
                    deployment_id=release.deployment_id,
                    address=member.address,
                    port=member.port,
                )
                for release in await self.read.deployments.releases()
                for member in release.members
                if member.node in (server.hostname, server.node_id)
            ),
            key=lambda copy: (copy.app, copy.port),
        )

    async def init(self, actor: Actor, command: InitSwarm) -> SwarmView:
        """Ask for the swarm and wait for it to be made.

        Raises:
            Forbidden, AlreadyExists, InvalidCommand: as the decision says.
            SwarmRefused: the engine would not make it (recorded).
        """

        def decide(state: SwarmState, c: InitSwarm) -> list[Event]:
            events = swarm.decide_init(state, c)
            self._engine()  # none to make it on: refused (once authorised) before it is asked
            return events

        recorded = await self.handler.execute(actor, command, SWARM, "", decide=decide)
        await self._outcome(
            recorded[-1].position,
            lambda e: (
                isinstance(e, SwarmInitialised)
                or (isinstance(e, SwarmOperationFailed) and e.operation == "init")
            ),
        )
        return view(await self.state(), self.default_registry)

    async def invite(self, actor: Actor, command: InviteNode) -> JoinCommand:
        """Record the invitation and hand out the command that joins the node."""
        expires = self.clock.now() + JOIN_WAIT
        await self.handler.execute(
            actor, command, SWARM, "", decide=lambda s, c: swarm.decide_invite(s, c, expires)
        )
        state = await self.state()
        token = await _join_token(self._engine(), command.role)
        return JoinCommand(
            name=command.name,
            role=command.role,
            expires_at=expires.isoformat(),
            command=f"docker swarm join --token {token} {state.advertise_addr}:{SWARM_PORT}",
        )

    async def join(
        self, actor: Actor, command: JoinNode, credentials: EngineCredentials
    ) -> InvitationView:
        """Join a node through its engine API, over TLS or SSH as `credentials` say, held for
        the call alone. Its host name is asked first (the name it is invited by), then the
        invitation recorded, then the node's engine told to join with the token, which is
        never recorded. The keeper records it joined once the swarm lists it, as a node that
        ran the printed command.

        Raises Forbidden, InvalidCommand, AlreadyExists or SwarmRefused: the node's engine
        refused or did not answer (before the invitation: nothing recorded; after it:
        `swarm.node_join_failed` with its words)."""
        # authorised before anything is asked of the node on the caller's behalf
        target = await self.handler.resolve(command)
        authorize_command(actor, command, target)
        remote = _remote(command.engine, credentials)
        swarm.require_swarm(await self.state())
        engine = self._engine()
        try:
            found = await engine.describe_remote(remote)
        except (ContainerError, EngineUnavailable) as exc:
            raise SwarmRefused(str(exc)) from exc
        if found.swarm_state != "inactive":
            raise SwarmRefused(
                f"the engine at {command.engine} is in a swarm already (its state:"
                f" {found.swarm_state}): run `docker swarm leave` on it first"
            )
        token = await _join_token(engine, command.role)
        expires = self.clock.now() + JOIN_WAIT

        def decide(state: SwarmState, c: JoinNode) -> list[Event]:
            return swarm.decide_join(state, c, found.hostname, expires)

        await self.handler.execute(actor, command, SWARM, "", decide=decide)
        state = await self.state()
        try:
            await engine.join_remote(remote, token, f"{state.advertise_addr}:{SWARM_PORT}")
        except (ContainerError, EngineUnavailable) as exc:
            failed = SwarmNodeJoinFailed(
                name=found.hostname, engine=command.engine, reason=str(exc)
            )
            meta = EventMeta(actor=actor.label, team=target.team, source=actor.source)
            await self.store.append(STREAM, None, [failed], meta)
            raise SwarmRefused(str(exc)) from exc
        return InvitationView(
            name=found.hostname,
            role=command.role,
            expires_at=expires.isoformat(),
            engine=command.engine,
        )

    async def set_build_node(
        self, actor: Actor, command: SetBuildNode, credentials: EngineCredentials
    ) -> BuildNodeView:
        """Build the images of apps on servers on the node whose engine is at
        `command.engine`, reached with `credentials` as a join reaches a node: its engine is
        asked which node it is first (it must be one of this swarm), then the choice recorded
        with the keys sealed.

        Raises Forbidden, InvalidCommand, or SwarmRefused (its engine refused or did not
        answer: nothing recorded)."""
        target = await self.handler.resolve(command)
        authorize_command(actor, command, target)
        remote = _remote(command.engine, credentials)
        swarm.require_swarm(await self.state())
        try:
            found = await self._engine().describe_remote(remote)
        except (ContainerError, EngineUnavailable) as exc:
            raise SwarmRefused(str(exc)) from exc

        def sealed(value: str) -> str:
            return self.secrets.seal(BUILD_SEAL_CONTEXT, value) if value else ""

        chosen = SwarmBuildNodeSet(
            engine=command.engine,
            node_id=found.node_id,
            hostname=found.hostname,
            ca=remote.ca,
            cert=remote.cert,
            key=sealed(remote.key),
            ssh_key=sealed(remote.ssh_key),
            host_key=remote.host_key,
        )
        await self.handler.execute(
            actor, command, SWARM, "", decide=lambda s, c: decide_set_build_node(s, c, chosen)
        )
        return BuildNodeView(engine=chosen.engine, hostname=chosen.hostname)

    async def clear_build_node(self, actor: Actor) -> None:
        """Raises Forbidden or NotFound."""
        await self.handler.execute(
            actor, ClearBuildNode(), SWARM, "", decide=decide_clear_build_node
        )

    async def build_node(self) -> RemoteEngine | None:
        """How the build node's engine is reached, its keys opened; None: builds run here.

        Raises SecretError: a key cannot be opened."""
        chosen = (await self.state()).build_node
        if chosen is None:
            return None

        def opened(value: str) -> str:
            return self.secrets.open(BUILD_SEAL_CONTEXT, value) if value else ""

        return RemoteEngine(
            url=chosen.engine,
            ca=chosen.ca,
            cert=chosen.cert,
            key=opened(chosen.key),
            ssh_key=opened(chosen.ssh_key),
            host_key=chosen.host_key,
        )

    async def change(self, actor: Actor, ref: str, command: ChangeNode) -> ServerView:
        """Raises NotFound, InvalidCommand or SwarmRefused."""
        change_id = secrets.token_hex(6)
        recorded = await self.handler.execute(
            actor,
            command,
            SWARM,
            "",
            decide=lambda s, c: swarm.decide_change(s, ref, c, change_id),
        )
        if recorded:
            await self._outcome(recorded[-1].position, _settles(change_id))
        return await self.server(actor, ref)

    async def remove(self, actor: Actor, ref: str, command: RemoveNode) -> None:
        """Raises NotFound, InvalidCommand or SwarmRefused."""
        change_id = secrets.token_hex(6)
        recorded = await self.handler.execute(
            actor,
            command,
            SWARM,
            "",
            decide=lambda s, c: swarm.decide_remove(s, ref, c, change_id),
        )
        await self._outcome(recorded[-1].position, _settles(change_id))

    async def set_registry(self, actor: Actor, command: SetRegistry) -> RegistryView:
        """Check the account against the registry (through the engine, as the servers will
        sign in), then record it with its password sealed.

        Raises Forbidden, InvalidCommand, or SwarmRegistryRefused (nothing recorded)."""
        # authorised before the registry is asked anything on the caller's behalf, as the
        # handler would after
        authorize_command(actor, command, await self.handler.resolve(command))
        check_registry(command)
        sealed = None
        if command.username:
            login = RegistryLogin(
                address=command.address, username=command.username, password=command.password
            )
            try:
                await self.swarm_engine().check_login(login)
            except (ContainerError, EngineUnavailable) as exc:
                raise SwarmRefused(
                    f"the account was not taken by {command.address}: {exc}"
                ) from exc
            sealed = self.secrets.seal(SEAL_CONTEXT, command.password)
        await self.handler.execute(
            actor, command, SWARM, "", decide=lambda s, c: decide_set_registry(s, c, sealed)
        )
        found = registry_view(await self.state(), self.default_registry)
        assert found is not None
        return found

    async def clear_registry(self, actor: Actor) -> None:
        """Raises Forbidden or NotFound."""
        await self.handler.execute(actor, ClearRegistry(), SWARM, "", decide=decide_clear_registry)

    async def host_registry(self, actor: Actor, command: HostRegistry) -> RegistryView:
        """Run the servers' registry on the manager: its certificates made, the registry and
        every node's copy of them started and waited for, then recorded
        (`swarm.registry_hosted`, the keys sealed).

        Raises Forbidden, InvalidCommand, AlreadyExists, or SwarmRefused: it did not come up
        (what was started is stopped, and the failure recorded with the engine's words)."""
        target = await self.handler.resolve(command)
        authorize_command(actor, command, target)
        async with self._registry_turn:
            return await self._host_registry(actor, command, target.team)

    async def _host_registry(
        self, actor: Actor, command: HostRegistry, team: str | None
    ) -> RegistryView:
        state = await self.state()
        address = check_host_registry(state, command)
        assert state.manager_node is not None  # a swarm has its manager
        certificates = make_certificates(address.rpartition(":")[0].strip("[]"))
        spec = HostedRegistrySpec(
            address=address,
            node_id=state.manager_node,
            image=self.hosted_registry_image,
            certificates=certificates,
        )
        engine = self._engine()
        meta = EventMeta(actor=actor.label, team=team, source=actor.source)
        try:
            await engine.run_registry(spec, HOSTED_REGISTRY_WAIT_S)
        except (ContainerError, EngineUnavailable) as exc:
            await self._registry_failed(engine, f"the registry at {address}: {exc}", meta)
        hosted = SwarmRegistryHosted(
            address=address,
            image=spec.image,
            ca=certificates.ca,
            cert=certificates.cert,
            key=self.secrets.seal(HOSTED_SEAL_CONTEXT, certificates.key),
            client_cert=certificates.client_cert,
            client_key=self.secrets.seal(HOSTED_SEAL_CONTEXT, certificates.client_key),
        )
        try:
            await self.handler.execute(
                actor, command, SWARM, "", decide=lambda s, c: decide_host_registry(s, c, hosted)
            )
        except DomainError:  # another registry was chosen meanwhile: this one is not kept
            with contextlib.suppress(ContainerError, EngineUnavailable):
                await engine.stop_registry()
            raise
        found = registry_view(await self.state(), self.default_registry)
        assert found is not None
        return found

    async def stop_hosted_registry(self, actor: Actor) -> None:
        """Stop the registry Rivetr runs, then record it stopped.

        Raises Forbidden, NotFound or SwarmRefused (the engine would not stop it: recorded,
        and it is still the servers' registry)."""
        command = StopHostedRegistry()
        target = await self.handler.resolve(command)
        authorize_command(actor, command, target)
        async with self._registry_turn:
            decide_stop_hosted_registry(await self.state(), command)  # none running: NotFound
            engine = self._engine()
            try:
                await engine.stop_registry()
            except (ContainerError, EngineUnavailable) as exc:
                meta = EventMeta(actor=actor.label, team=target.team, source=actor.source)
                reason = f"stopping the registry: {exc}"
                await self._registry_failed(engine, reason, meta, stop=False)
            await self.handler.execute(
                actor, command, SWARM, "", decide=decide_stop_hosted_registry
            )

    async def revive_registry(self) -> None:
        """At start: the registry the log says Rivetr runs, started again with the
        certificates it was recorded with when its service is gone (removed by hand, or the
        swarm restored onto a new machine under the same address).

        Raises ContainerError or EngineUnavailable."""
        state = await self.state()
        registry = state.registry
        if registry is None or registry.hosted is None or state.manager_node is None:
            return
        engine = self.swarm_engine()
        if await engine.registry_running():
            return
        hosted = registry.hosted
        log.warning("the servers' registry at %s is not running: starting it", hosted.address)
        certificates = RegistryCertificates(
            ca=hosted.ca,
            cert=hosted.cert,
            key=self.secrets.open(HOSTED_SEAL_CONTEXT, hosted.key),
            client_cert=hosted.client_cert,
            client_key=self.secrets.open(HOSTED_SEAL_CONTEXT, hosted.client_key),
        )
        spec = HostedRegistrySpec(
            address=hosted.address,
            node_id=state.manager_node,
            image=hosted.image,
            certificates=certificates,
        )
        try:
            await engine.run_registry(spec, HOSTED_REGISTRY_WAIT_S)
        except (ContainerError, EngineUnavailable) as exc:
            failed = SwarmOperationFailed(
                operation="registry", reason=f"the registry at {hosted.address}: {exc}"
            )
            await self.store.append(
                STREAM, None, [failed], EventMeta(actor=SYSTEM.label, source="swarm")
            )
            raise

    async def _registry_failed(
        self, engine: SwarmEngine, reason: str, meta: EventMeta, *, stop: bool = True
    ) -> NoReturn:
        """Record why the registry is not what was asked, and raise it (SwarmRefused); with
        `stop`, what was started of it stopped first."""
        if stop:
            with contextlib.suppress(ContainerError, EngineUnavailable):
                await engine.stop_registry()
        failed = SwarmOperationFailed(operation="registry", reason=reason)
        await self.store.append(STREAM, None, [failed], meta)
        raise SwarmRefused(reason)

    async def registry_login(self) -> RegistryLogin | None:
        """Where a release on servers is pushed, and the account it is pushed and pulled
        with: the registry set through Rivetr (none for the one it runs: every engine
        presents that one's client certificate), else the swarm_registry setting's."""
        registry = (await self.state()).registry
        if registry is None:
            return RegistryLogin(address=self.default_registry) if self.default_registry else None
        if registry.hosted is not None:
            return RegistryLogin(address=registry.address)
        password = (
            "" if registry.password is None else self.secrets.open(SEAL_CONTEXT, registry.password)
        )
        return RegistryLogin(
            address=registry.address, username=registry.username, password=password
        )

    def _engine(self) -> SwarmEngine:
        try:
            return self.swarm_engine()
        except (ContainerError, EngineUnavailable) as exc:
            raise SwarmRefused(str(exc)) from exc

    async def _outcome(self, after: int, settles: Callable[[Event], bool]) -> None:
        """Wait for the keeper's answer to the request recorded at `after`; a failure is
        raised with the engine's words. No answer in time: the request stands and is carried
        out when the keeper gets to it (the caller reads the state to see it)."""
        with anyio.move_on_after(OUTCOME_WAIT_S):
            async with contextlib.aclosing(self.store.subscribe(after)) as following:
                async for recorded in following:
                    event: Any = recorded.event
                    if recorded.stream_id != STREAM or not settles(event):
                        continue
                    if isinstance(event, SwarmOperationFailed):
                        raise SwarmRefused(event.reason)
                    return


def _remote(engine: str, credentials: EngineCredentials) -> RemoteEngine:
    """How the engine at `engine` is reached with `credentials`, those its way needs.

    Raises InvalidCommand: one is missing, or the host key is no key."""
    swarm.require_credentials(engine, msgspec.structs.asdict(credentials))
    if engine.startswith("ssh://"):  # as ssh takes it, whatever line it came in
        known = swarm.host_key(credentials.host_key)
        credentials = msgspec.structs.replace(credentials, host_key=known)
    return RemoteEngine(url=engine, **msgspec.structs.asdict(credentials))


async def _join_token(engine: SwarmEngine, role: str) -> str:
    """The token a node joins the swarm with in `role`, read from the engine (never kept).

    Raises SwarmRefused."""
    try:
        tokens = await engine.join_tokens()
    except (ContainerError, EngineUnavailable) as exc:
        raise SwarmRefused(f"the join token cannot be read: {exc}") from exc
    return tokens.manager if role == "manager" else tokens.worker


def _settles(change_id: str) -> Callable[[Event], bool]:
    def settles(event: Event) -> bool:
        return (
            isinstance(event, SwarmNodeChanged | SwarmNodeRemoved | SwarmOperationFailed)
            and event.change_id == change_id
        )

    return settles
