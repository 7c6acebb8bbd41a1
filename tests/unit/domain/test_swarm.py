"""The servers' decisions and what the engine's node list adds to the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import swarm
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.swarm import (
    ChangeNode,
    InitSwarm,
    InviteNode,
    JoinNode,
    ObservedNode,
    RemoveNode,
)
from rivetr.domain.swarm_events import (
    SwarmInitialised,
    SwarmNodeChanged,
    SwarmNodeChangeRequested,
    SwarmNodeDescribed,
    SwarmNodeInvited,
    SwarmNodeJoined,
    SwarmNodeJoinFailed,
    SwarmNodeJoinTimedOut,
    SwarmNodeRemoved,
    SwarmNodeStateChanged,
    SwarmOperationFailed,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
MANAGER = ObservedNode(
    node_id="m1",
    hostname="vps-1",
    role="manager",
    state="ready",
    availability="active",
    address="10.0.0.1",
)


def worker(node_id: str = "w1", hostname: str = "vps-2", **changes: object) -> ObservedNode:
    fields: dict[str, object] = {
        "node_id": node_id,
        "hostname": hostname,
        "role": "worker",
        "state": "ready",
        "availability": "active",
        "address": "10.0.0.2",
    }
    return ObservedNode(**{**fields, **changes})  # type: ignore[arg-type]


def initialised() -> swarm.SwarmState:
    return swarm.fold(
        "",
        [
            SwarmInitialised(
                swarm_id="s1", node_id="m1", hostname="vps-1", advertise_addr="10.0.0.1"
            )
        ],
    )


def with_events(state: swarm.SwarmState, events: list[object]) -> swarm.SwarmState:
    for event in events:
        state = swarm.evolve(state, event)  # type: ignore[arg-type]
    return state


def test_a_swarm_is_made_once_at_an_address_nodes_can_reach() -> None:
    assert swarm.decide_init(swarm.SwarmState(), InitSwarm(advertise_addr="10.0.0.1"))
    with pytest.raises(InvalidCommand, match="IP address") as bad:
        swarm.decide_init(swarm.SwarmState(), InitSwarm(advertise_addr="eth0; rm -rf /"))
    assert bad.value.field == "advertise_addr"
    with pytest.raises(InvalidCommand, match="not an address a node can reach"):
        swarm.decide_init(swarm.SwarmState(), InitSwarm(advertise_addr="0.0.0.0"))
    with pytest.raises(AlreadyExists, match="already manages swarm s1"):
        swarm.decide_init(initialised(), InitSwarm(advertise_addr="10.0.0.1"))
    asked = with_events(
        swarm.SwarmState(),
        swarm.decide_init(swarm.SwarmState(), InitSwarm(advertise_addr="10.0.0.1")),
    )
    with pytest.raises(AlreadyExists, match="being made"):
        swarm.decide_init(asked, InitSwarm(advertise_addr="10.0.0.1"))
    failed = swarm.evolve(asked, SwarmOperationFailed(operation="init", reason="no such address"))
    assert failed.init_failure == "no such address"
    assert swarm.decide_init(failed, InitSwarm(advertise_addr="10.0.0.1"))


def test_nodes_are_invited_only_into_a_swarm_and_under_a_new_name() -> None:
    with pytest.raises(InvalidCommand, match="no swarm yet"):
        swarm.decide_invite(swarm.SwarmState(), InviteNode(name="vps-2"), NOW)
    with pytest.raises(AlreadyExists, match="vps-1"):
        swarm.decide_invite(initialised(), InviteNode(name="vps-1"), NOW)
    [invited] = swarm.decide_invite(initialised(), InviteNode(name="vps-2"), NOW)
    assert isinstance(invited, SwarmNodeInvited)
    assert invited.expires_at == NOW.isoformat()


def test_a_node_joined_through_its_engine_is_invited_by_the_name_its_engine_gives() -> None:
    engine = "tcp://10.0.0.5:2376"
    joining = JoinNode(engine=engine)
    with pytest.raises(InvalidCommand, match="no swarm yet"):
        swarm.decide_join(swarm.SwarmState(), joining, "vps-5", NOW)
    with pytest.raises(AlreadyExists, match="vps-1"):
        swarm.decide_join(initialised(), joining, "vps-1", NOW)
    with pytest.raises(InvalidCommand, match="no host name a server can have") as odd:
        swarm.decide_join(initialised(), joining, "-not a host-", NOW)
    assert odd.value.field == "engine"
    [invited] = swarm.decide_join(initialised(), joining, "vps-5", NOW)
    assert invited == SwarmNodeInvited(
        name="vps-5", role="worker", expires_at=NOW.isoformat(), engine=engine
    )
    # its engine refused the join: the invitation ends, and the name may be asked again
    state = with_events(initialised(), [invited])
    assert set(state.invited) == {"vps-5"}
    failed = SwarmNodeJoinFailed(name="vps-5", engine=engine, reason="bad certificate")
    assert swarm.evolve(state, failed).invited == {}
    for url in ("tcp://10.0.0.5", "http://10.0.0.5:2376", "unix:///var/run/docker.sock"):
        with pytest.raises(msgspec.ValidationError, match="engine"):
            msgspec.convert({"engine": url}, JoinNode)
    assert msgspec.convert({"engine": "tcp://[fd00::5]:2376"}, JoinNode)


def test_an_invited_node_that_joins_is_matched_by_its_name_and_one_that_never_does_times_out() -> (
    None
):
    state = with_events(
        initialised(),
        [
            SwarmNodeInvited(name="vps-2", expires_at=(NOW + timedelta(minutes=10)).isoformat()),
            SwarmNodeInvited(name="vps-3", expires_at=(NOW + timedelta(minutes=10)).isoformat()),
        ],
    )
    events = swarm.observe(state, [MANAGER, worker()])
    assert events == [
        SwarmNodeJoined(
            node_id="w1", hostname="vps-2", role="worker", address="10.0.0.2", invited=True
        )
    ]
    state = with_events(state, events)
    assert swarm.expired(state, NOW + timedelta(minutes=9)) == []
    [timed_out] = swarm.expired(state, NOW + timedelta(minutes=10))
    assert isinstance(timed_out, SwarmNodeJoinTimedOut)
    assert timed_out.name == "vps-3"
    assert "port 2377" in timed_out.reason
    assert swarm.expired(swarm.evolve(state, timed_out), NOW + timedelta(hours=1)) == []


def test_a_joining_node_is_recorded_once_it_has_said_who_it_is() -> None:
    """The engine lists a joining node before the node first reports: no host name, no
    address. Recorded then, it could never be matched to its invitation."""
    state = with_events(
        initialised(),
        [SwarmNodeInvited(name="vps-2", expires_at=(NOW + timedelta(minutes=10)).isoformat())],
    )
    assert swarm.observe(state, [MANAGER, worker(hostname="", address="")]) == []
    [joined] = swarm.observe(state, [MANAGER, worker()])
    assert isinstance(joined, SwarmNodeJoined)
    assert joined.invited
    assert "vps-2" not in with_events(state, [joined]).invited


def test_what_the_engine_says_of_a_known_node_is_kept_up_to_date() -> None:
    """The manager is recorded from the swarm's answer, without its resources; a node's
    resources, address or engine change when its machine does."""
    bigger = msgspec.structs.replace(
        MANAGER, cpus=2.0, memory_bytes=4 << 30, engine_version="20.10.24"
    )
    [described] = swarm.observe(initialised(), [bigger])
    assert described == SwarmNodeDescribed(
        node_id="m1",
        hostname="vps-1",
        role="manager",
        address="10.0.0.1",
        cpus=2.0,
        memory_bytes=4 << 30,
        engine_version="20.10.24",
    )
    state = with_events(initialised(), [described])
    assert state.nodes["m1"].cpus == 2.0
    assert swarm.observe(state, [bigger]) == []
    unheard = msgspec.structs.replace(bigger, hostname="")  # a rejoining engine, not heard from
    assert swarm.observe(state, [unheard]) == []


def test_a_node_going_down_and_back_is_recorded_once_each_way() -> None:
    state = with_events(initialised(), swarm.observe(initialised(), [MANAGER, worker()]))
    down = swarm.observe(state, [MANAGER, worker(state="down", message="heartbeat failure")])
    assert down == [SwarmNodeStateChanged(node_id="w1", state="down", message="heartbeat failure")]
    state = with_events(state, down)
    assert swarm.observe(state, [MANAGER, worker(state="down", message="still gone")]) == []
    back = swarm.observe(state, [MANAGER, worker()])
    assert back == [SwarmNodeStateChanged(node_id="w1", state="ready")]


def test_changes_made_outside_rivetr_are_recorded_and_rivetrs_own_are_left_to_it() -> None:
    state = with_events(initialised(), swarm.observe(initialised(), [MANAGER, worker()]))
    relabelled = worker(labels={"zone": "eu"}, availability="drain")
    assert swarm.observe(state, [MANAGER, relabelled]) == [
        SwarmNodeChanged(node_id="w1", labels={"zone": "eu"}, availability="drain")
    ]
    asked = with_events(
        state, swarm.decide_change(state, "vps-2", ChangeNode(labels={"zone": "eu"}), "k1")
    )
    assert swarm.observe(asked, [MANAGER, relabelled]) == []
    assert swarm.observe(state, [MANAGER]) == [SwarmNodeRemoved(node_id="w1")]


def test_a_change_names_a_known_node_and_something_to_change() -> None:
    state = with_events(initialised(), swarm.observe(initialised(), [MANAGER, worker()]))
    with pytest.raises(NotFound, match="vps-1, vps-2"):
        swarm.decide_change(state, "vps-9", ChangeNode(availability="drain"), "k")
    with pytest.raises(InvalidCommand, match="say what to change"):
        swarm.decide_change(state, "vps-2", ChangeNode(), "k")
    assert swarm.decide_change(state, "vps-2", ChangeNode(availability="active"), "k") == []
    [asked] = swarm.decide_change(state, "w1", ChangeNode(availability="drain"), "k")
    assert isinstance(asked, SwarmNodeChangeRequested)
    assert asked.node_id == "w1"
    too_many = {f"k{n}": "v" for n in range(swarm.MAX_LABELS + 1)}
    with pytest.raises(InvalidCommand, match="at most"):
        swarm.decide_change(state, "vps-2", ChangeNode(labels=too_many), "k")


def test_the_manager_is_never_removed_and_a_busy_node_only_with_force() -> None:
    state = with_events(initialised(), swarm.observe(initialised(), [MANAGER, worker()]))
    with pytest.raises(InvalidCommand, match="machine Rivetr runs on"):
        swarm.decide_remove(state, "vps-1", RemoveNode(), "k")
    with pytest.raises(InvalidCommand, match="drain it") as refused:
        swarm.decide_remove(state, "vps-2", RemoveNode(), "k")
    assert refused.value.field == "force"
    assert swarm.decide_remove(state, "vps-2", RemoveNode(force=True), "k")
    left = swarm.evolve(state, SwarmNodeStateChanged(node_id="w1", state="down"))
    [asked] = swarm.decide_remove(left, "vps-2", RemoveNode(), "k")
    assert isinstance(asked, SwarmNodeChangeRequested)
    assert asked.remove


_nodes = st.lists(
    st.builds(
        ObservedNode,
        node_id=st.sampled_from(["m1", "w1", "w2", "w3"]),
        hostname=st.sampled_from(["vps-1", "vps-2", "vps-3", ""]),
        role=st.sampled_from(["manager", "worker"]),
        state=st.sampled_from(["ready", "down", "disconnected", "unknown"]),
        availability=st.sampled_from(["active", "pause", "drain"]),
        address=st.sampled_from(["10.0.0.9", "10.0.0.8"]),
        cpus=st.sampled_from([0.0, 2.0]),
        leader=st.booleans(),
        labels=st.dictionaries(st.sampled_from(["zone", "disk"]), st.sampled_from(["a", "b"])),
        message=st.sampled_from(["", "heartbeat failure"]),
    ),
    unique_by=lambda n: n.node_id,
)


@given(st.lists(_nodes, max_size=6))
def test_observing_what_was_just_recorded_adds_nothing(lists: list[list[ObservedNode]]) -> None:
    """Whatever the engine lists, one after another, the log then agrees with it: a second
    look at the same list records nothing more."""
    state = initialised()
    for found in lists:
        state = with_events(state, swarm.observe(state, found))
        assert swarm.observe(state, found) == []
        listed = {n.node_id: n for n in found}
        for node_id, node in state.nodes.items():
            assert node_id in listed
            assert (node.state, node.availability, dict(node.labels)) == (
                listed[node_id].state,
                listed[node_id].availability,
                dict(listed[node_id].labels),
            )
            if listed[node_id].hostname:  # else what it said last stands
                assert (node.hostname, node.address, node.cpus, node.leader) == (
                    listed[node_id].hostname,
                    listed[node_id].address,
                    listed[node_id].cpus,
                    listed[node_id].leader,
                )


ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNs9Evd8bBq6bGsIS+tJ0SjpWMmkY+ucwMfJ1dyt2DU"


@pytest.mark.parametrize(
    "line",
    [
        ED25519,
        f"{ED25519} root@vps-2",  # a public key file
        f"10.0.0.5 {ED25519}",  # ssh-keyscan
        f"[10.0.0.5]:2222,vps-2 {ED25519} comment",  # known_hosts
        f"|1|c2FsdA==|aGFzaA== {ED25519}",  # a hashed known_hosts name
    ],
)
def test_a_host_key_is_taken_from_the_lines_users_have(line: str) -> None:
    assert swarm.host_key(line) == ED25519


@pytest.mark.parametrize(
    "line",
    [
        "",
        "ssh-ed25519",
        "ssh-ed25519 not*base64",
        ED25519.replace("ssh-ed25519", "ssh-rsa"),  # a key under another type's name
        f"@revoked * {ED25519}",
        f"@cert-authority *.example.com {ED25519}",
        "ssh-foo AAAAB3NzaC1mb28=",
    ],
)
def test_what_is_no_host_key_is_refused(line: str) -> None:
    with pytest.raises(InvalidCommand, match="host_key must be"):
        swarm.host_key(line)


def test_each_way_to_an_engine_needs_its_own_credentials() -> None:
    swarm.require_credentials("tcp://h:2376", {"ca": "a", "cert": "b", "key": "c"})
    swarm.require_credentials("ssh://root@h", {"ssh_key": "a", "host_key": "b"})
    with pytest.raises(InvalidCommand, match=r"over TLS \(tcp://h:2376\) needs cert, key"):
        swarm.require_credentials("tcp://h:2376", {"ca": "a", "cert": " ", "ssh_key": "k"})
    with pytest.raises(InvalidCommand, match=r"over SSH \(ssh://h\) needs ssh_key, host_key"):
        swarm.require_credentials("ssh://h", {"ca": "a", "cert": "b", "key": "c"})
