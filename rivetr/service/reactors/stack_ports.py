"""What a stack release runs on, handed in by the composition root, and the one failure a step
raises with a message a user can act on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from rivetr.adapters.builders.base import ImageBuilder
from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.eventstore.retry import retry_on_conflict
from rivetr.adapters.logs import LogStore
from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime, EngineUnavailable
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.source.base import SourceFetcher
from rivetr.adapters.swarm.base import RegistryLogin, SwarmEngine, SwarmInfo
from rivetr.domain import claims
from rivetr.domain.aggregates import CLAIMS, STACKS
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.stacks import StackState
from rivetr.service.commands.handler import folded
from rivetr.service.reactors.stack_recorder import ACTOR, StackRecorder


class StepFailed(Exception):
    pass


@dataclass
class StackPorts:
    """What a release runs on, handed in by the composition root."""

    store: EventStore
    recorder: StackRecorder
    runtime: Callable[[], ContainerRuntime | None]
    source: SourceFetcher
    builder: ImageBuilder
    clock: Clock
    logs: LogStore
    secrets: SecretBox
    work_root: Path  # each release's files: data/stacks/<stack id>/<release id>
    data_dir: Path
    allowances: Callable[[str], Awaitable[Allowances]]  # what an instance admin allowed a team
    images: dict[str, str] = field(default_factory=dict)  # the instance image map
    # the swarm this engine manages, and the registry its servers pull from, for services on
    # servers (None: none here)
    swarm: Callable[[], SwarmEngine] | None = None
    registry: Callable[[], Awaitable[RegistryLogin | None]] | None = None

    async def swarm_here(self) -> tuple[SwarmEngine, SwarmInfo] | None:
        """The swarm this engine manages, when it is a manager of one."""
        if self.swarm is None:
            return None
        try:
            engine = self.swarm()
            info = await engine.swarm()
        except (ContainerError, EngineUnavailable):  # no swarm to speak of: one machine
            return None
        return (engine, info) if info is not None and info.manager else None


async def stack_of(store: EventStore, stack_id: str) -> StackState:
    return await folded(store, STACKS.at(stack_id))


async def claim_host_ports(store: EventStore, stack: StackState, ports: list[int]) -> None:
    """The stack's published host ports claimed (and the ones it no longer publishes given
    up), decided on the claims stream as every claim is: one holder per port on the host.

    Raises:
        AlreadyExists: another resource publishes one of them.
    """
    stream = CLAIMS.at()

    async def attempt() -> None:
        history = await store.read_stream(stream.stream_id)
        held = stream.fold(recorded.event for recorded in history)
        events = claims.claim_ports(held, stack.stack_id, stack.team, ports)
        if events:
            meta = EventMeta(actor=ACTOR, team=stack.team, source="system", resource=stack.stack_id)
            expected = history[-1].version if history else 0
            await store.append(stream.stream_id, expected, events, meta)

    await retry_on_conflict(attempt)
