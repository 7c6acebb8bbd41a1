"""`rivetr servers`' lines: an invitation says how the node is to join, and a node joined
through its engine is said to be."""

from __future__ import annotations

from rivetr.cli.servers import line
from rivetr.service.commands.server_views import InvitationView, SwarmView

UNTIL = "2026-12-04T16:00:00+00:00"


def test_the_invited_say_whether_rivetr_joins_them_through_their_engine() -> None:
    swarm = SwarmView(
        active=True,
        invited=[
            InvitationView(name="vps-2", role="worker", expires_at=UNTIL),
            InvitationView(
                name="vps-3", role="manager", expires_at=UNTIL, engine="tcp://10.0.0.3:2376"
            ),
        ],
    )
    assert line(swarm).splitlines() == [
        f"vps-2\tinvited (worker)\tuntil {UNTIL}",
        f"vps-3\tinvited (manager, through tcp://10.0.0.3:2376)\tuntil {UNTIL}",
    ]
    joined = InvitationView(
        name="vps-3", role="worker", expires_at=UNTIL, engine="tcp://10.0.0.3:2376"
    )
    assert line(joined) == (
        "vps-3 joined through tcp://10.0.0.3:2376 as a worker: listed once the swarm has it"
        " (`rivetr servers`)"
    )
