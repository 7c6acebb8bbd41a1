"""The build node: a node of the swarm (its engine said which), chosen and cleared; a node
removed builds nothing any more."""

from __future__ import annotations

import pytest

from rivetr.domain import swarm
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.swarm_build import (
    ClearBuildNode,
    SetBuildNode,
    decide_clear_build_node,
    decide_set_build_node,
)
from rivetr.domain.swarm_events import (
    SwarmBuildNodeCleared,
    SwarmBuildNodeSet,
    SwarmInitialised,
    SwarmNodeJoined,
    SwarmNodeRemoved,
)

ENGINE = "ssh://root@10.0.0.4"
CHOSEN = SwarmBuildNodeSet(
    engine=ENGINE, node_id="n4", hostname="vps-4", ssh_key="sealed:k", host_key="ssh-ed25519 A"
)
SWARM = swarm.fold(
    "",
    [
        SwarmInitialised(swarm_id="s", node_id="n1", hostname="vps-1", advertise_addr="10.0.0.1"),
        SwarmNodeJoined(node_id="n4", hostname="vps-4", role="worker", address="10.0.0.4"),
    ],
)


def test_a_node_of_the_swarm_is_chosen_to_build_and_cleared() -> None:
    [recorded] = decide_set_build_node(SWARM, SetBuildNode(engine=ENGINE), CHOSEN)
    state = swarm.evolve(SWARM, recorded)
    assert state.build_node == CHOSEN

    assert decide_clear_build_node(state, ClearBuildNode()) == [SwarmBuildNodeCleared()]
    assert swarm.evolve(state, SwarmBuildNodeCleared()).build_node is None


def test_an_engine_that_is_no_node_of_the_swarm_is_refused() -> None:
    stranger = SwarmBuildNodeSet(engine=ENGINE, node_id="elsewhere", hostname="vps-9")
    with pytest.raises(InvalidCommand, match="not a node of this swarm") as refused:
        decide_set_build_node(SWARM, SetBuildNode(engine=ENGINE), stranger)
    assert refused.value.field == "engine"
    with pytest.raises(InvalidCommand, match="no swarm yet"):
        decide_set_build_node(swarm.SwarmState(), SetBuildNode(engine=ENGINE), CHOSEN)
    with pytest.raises(NotFound, match="built on the manager"):
        decide_clear_build_node(SWARM, ClearBuildNode())


def test_the_build_node_removed_leaves_the_builds_to_the_manager() -> None:
    state = swarm.evolve(SWARM, CHOSEN)
    assert swarm.evolve(state, SwarmNodeRemoved(node_id="n1")).build_node == CHOSEN
    assert swarm.evolve(state, SwarmNodeRemoved(node_id="n4")).build_node is None
