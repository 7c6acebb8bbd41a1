"""Where the images of apps on servers are built: on the manager, or on a node an instance
administrator chooses (a bigger machine, one that keeps builds off the one serving), whose
engine Rivetr reaches as it would to join it, over TLS or through SSH. The keys are sealed
before they are recorded, under `SEAL_CONTEXT`, and never shown again."""

from __future__ import annotations

from rivetr.domain.commands import Command
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.swarm import SwarmState, require_swarm
from rivetr.domain.swarm_events import EngineUrl, SwarmBuildNodeCleared, SwarmBuildNodeSet

SEAL_CONTEXT = "swarm:build-node"


class SetBuildNode(Command, frozen=True, kw_only=True):
    """Build on the node whose engine is at `engine` (its credentials handed beside)."""

    engine: EngineUrl


class ClearBuildNode(Command, frozen=True, kw_only=True):
    pass


def decide_set_build_node(
    state: SwarmState, command: SetBuildNode, chosen: SwarmBuildNodeSet
) -> list[Event]:
    """`chosen`: the node its engine said it is, with the credentials (keys sealed).

    Raises InvalidCommand: no swarm, or the engine is no node of it."""
    require_swarm(state)
    if chosen.node_id not in state.nodes:
        raise InvalidCommand(
            f"the engine at {command.engine} is not a node of this swarm: join it first"
            " (`rivetr servers join`)",
            field="engine",
        )
    return [chosen]


def decide_clear_build_node(state: SwarmState, command: ClearBuildNode) -> list[Event]:
    """Raises NotFound: none was chosen."""
    if state.build_node is None:
        raise NotFound("no build node was chosen: images are built on the manager")
    return [SwarmBuildNodeCleared()]
