"""Servers on the twins: the swarm made, nodes invited, joined, changed and removed through the
service and carried out by the keeper, with what the engine refuses answered and recorded."""

from __future__ import annotations

from typing import Any

import pytest

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.access import SYSTEM
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.swarm import ChangeNode, InitSwarm, InviteNode, JoinNode, RemoveNode
from rivetr.domain.swarm_events import (
    STREAM,
    NodeRole,
    SwarmNodeChangeRequested,
    SwarmNodeJoinFailed,
)
from rivetr.service.commands.servers import JOIN_WAIT, EngineCredentials, SwarmRefused
from tests.unit.service.reactors.house import House

pytestmark = pytest.mark.anyio


async def swarm_types(house: House) -> list[str]:
    return [r.type for r in await house.store.read_stream(STREAM)]


async def test_a_swarm_is_made_and_a_node_invited_joins_by_its_command(house: House) -> None:
    async with house.running() as services:
        made = await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        assert made.active
        [manager] = made.servers
        assert (manager.manager, manager.role, manager.hostname) == (True, "manager", "manager")

        join = await services.servers.invite(SYSTEM, InviteNode(name="vps-2"))
        token = (await house.swarm.join_tokens()).worker
        assert join.command == f"docker swarm join --token {token} 10.0.0.1:2377"
        assert token not in str(await house.store.read_stream(STREAM))  # never recorded
        assert [i.name for i in (await services.servers.swarm(SYSTEM)).invited] == ["vps-2"]

        house.swarm.join("vps-2", "10.0.0.2", labels={"disk": "ssd"})
        await services.swarm_keeper.look()
        listed = await services.servers.swarm(SYSTEM)
        assert [(s.hostname, s.labels) for s in listed.servers] == [
            ("manager", {}),
            ("vps-2", {"disk": "ssd"}),
        ]
        assert listed.invited == []
    assert await swarm_types(house) == [
        "swarm.init_requested",
        "swarm.initialised",
        "swarm.node_described",  # the manager's resources, which the swarm's answer lacks
        "swarm.node_invited",
        "swarm.node_joined",
    ]


async def test_labels_drain_and_removal_are_carried_out_and_recorded(house: House) -> None:
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        node = house.swarm.join("vps-2", "10.0.0.2")
        await services.swarm_keeper.look()

        labelled = await services.servers.change(SYSTEM, "vps-2", ChangeNode(labels={"zone": "eu"}))
        assert labelled.labels == {"zone": "eu"}
        assert house.swarm.node_list[node.node_id].labels == {"zone": "eu"}

        drained = await services.servers.change(
            SYSTEM, node.node_id, ChangeNode(availability="drain")
        )
        assert drained.availability == "drain"
        with pytest.raises(InvalidCommand, match="docker swarm leave"):
            await services.servers.remove(SYSTEM, "vps-2", RemoveNode())
        house.swarm.set_state(node.node_id, "down")  # it left: the engine says it is down
        await services.swarm_keeper.look()
        await services.servers.remove(SYSTEM, "vps-2", RemoveNode())
        assert node.node_id not in house.swarm.node_list
        assert [s.hostname for s in (await services.servers.swarm(SYSTEM)).servers] == ["manager"]
        # nothing more to record on the next look: the log and the engine agree
        assert await services.swarm_keeper.look() == []


async def test_what_the_engine_refuses_is_answered_with_its_words_and_recorded(
    house: House,
) -> None:
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        node = house.swarm.join("vps-2", "10.0.0.2")
        await services.swarm_keeper.look()
        del house.swarm.node_list[node.node_id]  # gone from the engine before the log knows
        with pytest.raises(SwarmRefused, match="not found"):
            await services.servers.change(SYSTEM, "vps-2", ChangeNode(availability="pause"))
        [failed] = [r.event for r in await house.store.read_stream(STREAM)][-1:]
        assert failed.operation == "change"  # type: ignore[attr-defined]
        assert "not found" in failed.reason  # type: ignore[attr-defined]


async def test_a_node_down_and_back_and_an_invitation_never_answered_are_recorded(
    house: House,
) -> None:
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        node = house.swarm.join("vps-2", "10.0.0.2")
        await services.servers.invite(SYSTEM, InviteNode(name="vps-3"))
        await services.swarm_keeper.look()
        house.swarm.set_state(node.node_id, "down")
        await services.swarm_keeper.look()
        assert (await services.servers.server(SYSTEM, "vps-2")).state == "down"
        house.swarm.set_state(node.node_id, "ready")
        house.clock.advance(JOIN_WAIT.total_seconds())
        await services.swarm_keeper.look()
        assert (await services.servers.server(SYSTEM, "vps-2")).state == "ready"
        assert (await services.servers.swarm(SYSTEM)).invited == []
    assert (await swarm_types(house))[-3:] == [
        "swarm.node_state_changed",
        "swarm.node_state_changed",
        "swarm.node_join_timed_out",
    ]


async def test_a_change_asked_before_a_crash_is_carried_out_at_the_next_start(house: House) -> None:
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        node = house.swarm.join("vps-2", "10.0.0.2")
        await services.swarm_keeper.look()
    # asked, and the process gone before the keeper answered
    asked = SwarmNodeChangeRequested(change_id="k1", node_id=node.node_id, labels={"a": "b"})
    await house.store.append(STREAM, None, [asked], EventMeta(actor="test"))
    async with house.running() as services:
        await services.swarm_keeper.carry_out_pending()
        assert (await services.servers.server(SYSTEM, "vps-2")).labels == {"a": "b"}
    assert (await swarm_types(house)).count("swarm.node_changed") == 1


async def test_labels_set_outside_rivetr_in_the_engines_wider_syntax_are_recorded(
    house: House,
) -> None:
    """The engine takes label keys and values Rivetr's own commands do not (a slash, a
    space): what it lists is a fact to record, not input to refuse."""
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        node = house.swarm.join("vps-2", "10.0.0.2", labels={"com.example/team": "ops a"})
        await services.swarm_keeper.look()
        await house.swarm.update_node(node.node_id, labels={"com.example/rack": "r 1"})
        await services.swarm_keeper.look()
        assert (await services.servers.server(SYSTEM, "vps-2")).labels == {
            "com.example/rack": "r 1"
        }


PEM_CA = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nrivetr\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nsecret-key\n-----END PRIVATE KEY-----\n"
ENGINE = "tcp://10.0.0.5:2376"


async def join(services: Any, engine: str = ENGINE, role: NodeRole = "worker") -> Any:
    command = JoinNode(engine=engine, role=role)
    tls = EngineCredentials(ca=PEM_CA, cert=PEM_CERT, key=PEM_KEY)
    return await services.servers.join(SYSTEM, command, tls)


async def test_a_node_is_joined_through_its_engine_api_by_the_name_it_gives(house: House) -> None:
    house.swarm.remotes[ENGINE] = "vps-5"
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))

        invited = await join(services)

        assert (invited.name, invited.role, invited.engine) == ("vps-5", "worker", ENGINE)
        await services.swarm_keeper.look()
        listed = await services.servers.swarm(SYSTEM)
        assert [(s.hostname, s.address) for s in listed.servers] == [
            ("manager", "10.0.0.1"),
            ("vps-5", "10.0.0.5"),
        ]
        assert listed.invited == []
    history = str(await house.store.read_stream(STREAM))
    for secret in ("secret-key", (await house.swarm.join_tokens()).worker):
        assert secret not in history  # neither the key nor the token is ever recorded
    assert (await swarm_types(house))[-2:] == ["swarm.node_invited", "swarm.node_joined"]


SSH_ENGINE = "ssh://root@10.0.0.6:2222"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nssh-secret\n-----END OPENSSH PRIVATE KEY-----\n"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNs9Evd8bBq6bGsIS+tJ0SjpWMmkY+ucwMfJ1dyt2DU"


def ssh(host_key: str) -> EngineCredentials:
    return EngineCredentials(ssh_key=SSH_KEY, host_key=host_key)


async def test_a_node_is_joined_through_ssh_checked_by_its_host_key(house: House) -> None:
    house.swarm.remotes[SSH_ENGINE] = "vps-6"
    house.swarm.ssh_nodes[SSH_ENGINE] = (HOST_KEY, SSH_KEY)
    async with house.running() as services:
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        before = await swarm_types(house)
        command = JoinNode(engine=SSH_ENGINE)
        # a line as ssh-keyscan prints it, or a known_hosts line: its host names go
        scanned = f"[10.0.0.6]:2222 {HOST_KEY} root@vps-6"
        other = HOST_KEY.replace("IHNs9", "IHNs8")
        with pytest.raises(SwarmRefused, match="host key is not the one given"):
            await services.servers.join(SYSTEM, command, ssh(other))
        with pytest.raises(InvalidCommand, match="needs ssh_key"):
            await services.servers.join(SYSTEM, command, EngineCredentials(key=SSH_KEY))
        assert await swarm_types(house) == before  # refused before any invitation

        invited = await services.servers.join(SYSTEM, command, ssh(scanned))

        assert (invited.name, invited.engine) == ("vps-6", SSH_ENGINE)
        await services.swarm_keeper.look()
        listed = await services.servers.swarm(SYSTEM)
        assert ("vps-6", "10.0.0.6") in [(s.hostname, s.address) for s in listed.servers]
    assert "ssh-secret" not in str(await house.store.read_stream(STREAM))


async def test_an_engine_that_refuses_is_answered_in_its_words(house: House) -> None:
    house.swarm.remotes[ENGINE] = "vps-5"
    async with house.running() as services:
        with pytest.raises(InvalidCommand, match="no swarm yet"):
            await join(services)
        await services.servers.init(SYSTEM, InitSwarm(advertise_addr="10.0.0.1"))
        before = await swarm_types(house)

        # nothing answers there: refused before any invitation, nothing recorded
        with pytest.raises(SwarmRefused, match="did not answer over TLS: connection refused"):
            await join(services, "tcp://10.0.0.9:2376")
        assert await swarm_types(house) == before

        # it answers, then refuses the join: the invitation ends with its words
        house.swarm.join_refusal = "could not connect to prospective new cluster member"
        with pytest.raises(SwarmRefused, match="prospective new cluster member"):
            await join(services)
        [failed] = (await house.store.read_stream(STREAM))[-1:]
        assert failed.event == SwarmNodeJoinFailed(
            name="vps-5",
            engine=ENGINE,
            reason=f"join the swarm at 10.0.0.1:2377 at {ENGINE}: could not connect to"
            " prospective new cluster member",
        )
        assert (await services.servers.swarm(SYSTEM)).invited == []

        # joined meanwhile by hand: asked again, the engine says it is in a swarm already
        house.swarm.join_refusal = None
        house.swarm.join("vps-5", "10.0.0.5")
        with pytest.raises(SwarmRefused, match="is in a swarm already"):
            await join(services)
