"""Scaling an app: how many copies, on which servers, balanced how; decided on the app's
stream with the servers (the swarm's stream) read beside it, so that a scale no server can
carry is refused when it is asked, not found out at the next deploy."""

from __future__ import annotations

import msgspec

from rivetr.domain.application import AppState
from rivetr.domain.commands import Command
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.scale_events import AppScaled, Balance, Placement, Replicas, Scale
from rivetr.domain.settings import AppName
from rivetr.domain.swarm import SwarmState


class ScaleApp(Command, frozen=True, kw_only=True):
    """The app's copies, replaced whole: what is left out takes its default."""

    name: AppName
    replicas: Replicas = 1
    placement: Placement = msgspec.field(default_factory=Placement)
    balance: Balance = "round_robin"


def decide_scale(app: AppState, swarm: SwarmState, command: ScaleApp) -> list[Event]:
    """Nothing when the app is scaled so already.

    Raises:
        NotFound: no such app.
        InvalidCommand: a preview (it runs as one copy beside the app it previews); a health
            check on a port of its own (copies publish the app's port alone); more than one
            copy or a placement while this engine manages no swarm; constraints that no server
            carries (naming the servers' labels).
    """
    if not app.exists:
        raise NotFound(f"no application named {app.name or app.app_id!r}")
    wanted = Scale(replicas=command.replicas, placement=command.placement, balance=command.balance)
    if wanted == app.scale:
        return []
    if wanted.on_swarm:
        if app.preview_of is not None:
            raise InvalidCommand(f"{app.name!r} is a preview: it runs as one copy")
        if app.health.port not in (None, app.port):
            raise InvalidCommand(
                f"copies on servers publish the app's port alone ({app.port}) and are checked"
                f" there: set health.port to it, or unset it, first (it is {app.health.port})"
            )
        _placeable(swarm, command.placement)
    return [
        AppScaled(
            name=app.name,
            replicas=command.replicas,
            placement=command.placement,
            balance=command.balance,
        )
    ]


def _placeable(swarm: SwarmState, placement: Placement) -> None:
    if not swarm.active:
        raise InvalidCommand(
            "more than one copy, or a placement, runs on servers: make this engine a swarm"
            " manager first (rivetr servers init)"
        )
    wanted = placement.constraints.items()
    if any(wanted <= node.labels.items() for node in swarm.nodes.values()):
        return
    held = sorted(
        f"{node.hostname} ({', '.join(f'{k}={v}' for k, v in sorted(node.labels.items()))})"
        for node in swarm.nodes.values()
        if node.labels
    )
    asked = ", ".join(f"{key}={value}" for key, value in sorted(wanted))
    raise InvalidCommand(
        f"no server carries {asked}: label one first (rivetr servers label)"
        + (f"; labelled: {'; '.join(held)}" if held else "; no server has labels")
    )
