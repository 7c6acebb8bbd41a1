"""Scaling an app: refused where no server could carry it, recorded whole otherwise."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import application, swarm
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.events import AppCreated
from rivetr.domain.scale_events import AppScaled, Placement, Scale
from rivetr.domain.scaling import ScaleApp, decide_scale
from rivetr.domain.settings import HealthCheck
from rivetr.domain.swarm_events import SwarmInitialised, SwarmNodeJoined

NO_SWARM = swarm.SwarmState()


def app(*events: Event, **created: object) -> application.AppState:
    made = AppCreated(app_id="a1", name="web", git_url="https://example.com/web.git", **created)  # type: ignore[arg-type]
    return application.fold("a1", [made, *events])


def servers(**labels_of: dict[str, str]) -> swarm.SwarmState:
    """A swarm whose manager is vps-1, and a worker for each host name given, labelled so."""
    events: list[Event] = [
        SwarmInitialised(swarm_id="s1", node_id="m1", hostname="vps-1", advertise_addr="10.0.0.1")
    ]
    for number, (hostname, labels) in enumerate(labels_of.items()):
        events.append(
            SwarmNodeJoined(
                node_id=f"w{number}",
                hostname=hostname,
                role="worker",
                address=f"10.0.0.{number + 2}",
                labels=labels,
            )
        )
    return swarm.fold("", events)


def test_an_app_runs_one_copy_here_until_it_is_scaled() -> None:
    assert app().scale == Scale()
    assert not app().scale.on_swarm
    assert Scale(placement=Placement(spread="zone")).on_swarm


def test_more_copies_need_servers_first() -> None:
    with pytest.raises(InvalidCommand, match=r"make this engine a swarm manager first"):
        decide_scale(app(), NO_SWARM, ScaleApp(name="web", replicas=3))
    placed = Placement(constraints={"zone": "eu"})
    with pytest.raises(InvalidCommand, match="swarm manager first"):
        decide_scale(app(), NO_SWARM, ScaleApp(name="web", placement=placed))


def test_a_scale_is_recorded_whole_and_folded_and_the_same_again_changes_nothing() -> None:
    command = ScaleApp(
        name="web",
        replicas=3,
        placement=Placement(spread="zone"),
        balance="least_connections",
    )
    (scaled,) = decide_scale(app(), servers(), command)
    assert scaled == AppScaled(
        name="web", replicas=3, placement=Placement(spread="zone"), balance="least_connections"
    )
    state = app(scaled)
    assert state.scale == Scale(
        replicas=3, placement=Placement(spread="zone"), balance="least_connections"
    )
    assert decide_scale(state, servers(), command) == []
    # what is left out takes its default: the spread and the balance go with a bare scale
    (again,) = decide_scale(state, servers(), ScaleApp(name="web", replicas=2))
    assert app(scaled, again).scale == Scale(replicas=2)


def test_back_to_one_copy_needs_no_servers() -> None:
    scaled = AppScaled(name="web", replicas=3)
    (back,) = decide_scale(app(scaled), NO_SWARM, ScaleApp(name="web"))
    assert back == AppScaled(name="web", replicas=1)
    assert not app(scaled, back).scale.on_swarm


def test_constraints_no_server_carries_are_refused_naming_the_labels_there_are() -> None:
    fleet = servers(**{"vps-2": {"zone": "us"}, "vps-3": {"zone": "eu", "disk": "hdd"}})
    wanted = Placement(constraints={"zone": "eu", "disk": "ssd"})
    with pytest.raises(InvalidCommand) as refused:
        decide_scale(app(), fleet, ScaleApp(name="web", replicas=2, placement=wanted))
    assert str(refused.value) == (
        "no server carries disk=ssd, zone=eu: label one first (rivetr servers label);"
        " labelled: vps-2 (zone=us); vps-3 (disk=hdd, zone=eu)"
    )
    with pytest.raises(InvalidCommand, match="no server has labels"):
        decide_scale(app(), servers(), ScaleApp(name="web", placement=wanted))
    held = Placement(constraints={"zone": "eu"})
    (scaled,) = decide_scale(app(), fleet, ScaleApp(name="web", replicas=2, placement=held))
    assert scaled.placement == held  # type: ignore[attr-defined]


def test_a_health_check_on_a_port_of_its_own_is_refused_for_copies() -> None:
    checked_apart = app(port=3000, health=HealthCheck(port=9000))
    with pytest.raises(InvalidCommand, match=r"set health.port to it, or unset it, first"):
        decide_scale(checked_apart, servers(), ScaleApp(name="web", replicas=2))
    same = app(port=3000, health=HealthCheck(port=3000))
    assert decide_scale(same, servers(), ScaleApp(name="web", replicas=2))


def test_a_preview_and_an_app_that_is_not_are_refused() -> None:
    preview = app(preview_of="web-main", pr_number=4)
    with pytest.raises(InvalidCommand, match="is a preview"):
        decide_scale(preview, servers(), ScaleApp(name="web", replicas=2))
    gone = application.AppState(app_id="a2", name="old")
    with pytest.raises(NotFound, match="no application named 'old'"):
        decide_scale(gone, servers(), ScaleApp(name="old", replicas=2))


@pytest.mark.parametrize(
    "body",
    [
        {"name": "web", "replicas": 0},
        {"name": "web", "replicas": 65},
        {"name": "web", "replicas": "3"},
        {"name": "web", "placement": {"constraints": {"zone eu": "x"}}},
        {"name": "web", "placement": {"constraints": {"zone": "e u"}}},
        {"name": "web", "placement": {"spread": ""}},
        {"name": "web", "placement": {"nodes": ["vps-2"]}},
        {"name": "web", "balance": "random"},
        {"name": "web", "replica": 3},
    ],
)
def test_a_scale_out_of_bounds_or_misspelt_is_refused_when_read(body: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(body, ScaleApp)
