"""The swarm keeper: carries out the changes of the servers asked in the log (making the swarm,
a node's labels and availability, removing a node), each answered by the event of its outcome,
and keeps the log in step with the engine: nodes that joined, went down or came back, or were
changed outside Rivetr, and invitations no node answered in time.

The engine is looked at every `interval_s` only while the log says there is a swarm; without
one, the keeper waits on the log and costs nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
import msgspec

from rivetr.adapters.clock import Clock
from rivetr.adapters.eventstore.base import EventMeta, EventStore
from rivetr.adapters.runtime.base import ContainerError, EngineUnavailable
from rivetr.adapters.swarm.base import NodeInfo, SwarmEngine
from rivetr.domain import swarm
from rivetr.domain.access import SYSTEM
from rivetr.domain.event_base import Event
from rivetr.domain.swarm import ObservedNode, SwarmState
from rivetr.domain.swarm_events import (
    STREAM,
    SwarmInitialised,
    SwarmInitRequested,
    SwarmNodeChanged,
    SwarmNodeChangeRequested,
    SwarmNodeRemoved,
    SwarmOperationFailed,
)

log = logging.getLogger(__name__)

ENGINE_ERRORS = (ContainerError, EngineUnavailable)


def observed(node: NodeInfo) -> ObservedNode:
    """The port's node as the domain's (the same fields, less whether it leads)."""
    return msgspec.convert(node, ObservedNode, from_attributes=True)


class SwarmKeeper:
    def __init__(
        self,
        store: EventStore,
        engine: Callable[[], SwarmEngine],
        clock: Clock,
        *,
        interval_s: float = 5.0,
        then: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.interval_s = interval_s
        self.then = then  # what else looks at the swarm at each look (the copy watch)
        self.meta = EventMeta(actor=SYSTEM.label, source="swarm")
        self._changed = anyio.Event()
        self._problem: str | None = None  # why the nodes could not be listed, last time

    async def state(self) -> SwarmState:
        history = await self.store.read_stream(STREAM)
        return swarm.fold("", [recorded.event for recorded in history])

    async def record(self, events: list[Event]) -> None:
        if events:
            await self.store.append(STREAM, None, events, self.meta)

    # -- carrying out what is asked -----------------------------------------------------

    async def run(self, after: int) -> None:
        """Carry out the requests a previous run left unanswered, then each new one."""
        await self.carry_out_pending()
        async for recorded in self.store.subscribe(after):
            event = recorded.event
            if isinstance(event, SwarmInitRequested):
                await self.make_swarm(event)
            elif isinstance(event, SwarmNodeChangeRequested):
                await self.change_node(event)
            if recorded.stream_id == STREAM:
                self._changed.set()

    async def carry_out_pending(self) -> None:
        state = await self.state()
        if state.init_pending:
            await self.make_swarm(SwarmInitRequested(advertise_addr=state.advertise_addr or ""))
        for change in list(state.pending.values()):
            await self.change_node(change)

    async def make_swarm(self, asked: SwarmInitRequested) -> None:
        if (await self.state()).active:
            return
        try:
            engine = self.engine()
            made = await engine.swarm()
            if made is not None and not made.manager:
                raise ContainerError(
                    f"the engine is a worker of swarm {made.swarm_id}, not its manager: run"
                    " `docker swarm leave` on this machine first"
                )
            if made is None:
                made = await engine.init(asked.advertise_addr)
            own = next(n for n in await engine.nodes() if n.node_id == made.node_id)
        except ENGINE_ERRORS as exc:
            await self.record([SwarmOperationFailed(operation="init", reason=str(exc))])
            return
        await self.record(
            [
                SwarmInitialised(
                    swarm_id=made.swarm_id,
                    node_id=made.node_id,
                    hostname=own.hostname,
                    advertise_addr=made.advertise_addr or asked.advertise_addr,
                )
            ]
        )

    async def change_node(self, asked: SwarmNodeChangeRequested) -> None:
        if asked.change_id not in (await self.state()).pending:
            return  # answered already (a previous run got to it)
        engine = self.engine()
        try:
            if asked.remove:
                await engine.remove_node(asked.node_id, force=asked.force)
                outcome: Event = SwarmNodeRemoved(node_id=asked.node_id, change_id=asked.change_id)
            else:
                node = await engine.update_node(
                    asked.node_id, labels=asked.labels, availability=asked.availability
                )
                outcome = SwarmNodeChanged(
                    node_id=node.node_id,
                    labels=dict(node.labels),
                    availability=node.availability,
                    change_id=asked.change_id,
                )
        except ENGINE_ERRORS as exc:
            outcome = SwarmOperationFailed(
                operation="remove" if asked.remove else "change",
                reason=str(exc),
                change_id=asked.change_id,
                node_id=asked.node_id,
            )
        await self.record([outcome])

    # -- keeping the log in step with the engine ------------------------------------------

    async def watch(self) -> None:
        """Look at the engine's nodes every `interval_s` while there is a swarm (and have
        `then` look at what it watches)."""
        while True:
            changed = self._changed = anyio.Event()  # before reading: no change slips between
            state = await self.state()
            if not state.active:
                await changed.wait()  # the log will say when there is one
                continue
            await self.look(state)
            if self.then is not None:
                await self.then()
            await anyio.sleep(self.interval_s)

    async def look(self, state: SwarmState | None = None) -> list[Event]:
        """Record what the engine's node list and the clock add to the log; returns it."""
        state = state or await self.state()
        try:
            found = [observed(node) for node in await self.engine().nodes()]
        except ENGINE_ERRORS as exc:
            if str(exc) != self._problem:  # once per problem, not every look
                log.warning("the swarm's nodes cannot be listed: %s", exc)
            self._problem = str(exc)
            found = None
        else:
            self._problem = None
        events = swarm.expired(state, self.clock.now())
        if found is not None:
            events = swarm.observe(state, found) + events
        await self.record(events)
        return events
