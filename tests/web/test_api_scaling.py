"""PUT /api/v1/apps/{name}/scale: recorded whole, refused with the reason where no server
could carry it, and a live app redeployed from its live image so that it takes effect."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.swarm_events import SwarmInitialised, SwarmNodeJoined
from tests.web.releases import served_releases

WEB = {"name": "web", "git_url": "https://git.example.com/me/web.git"}


def servers(call: Any, services: Any) -> None:
    """A swarm of this engine and one worker in zone eu, as the keeper would record them."""
    events = [
        SwarmInitialised(swarm_id="s1", node_id="m1", hostname="vps-1", advertise_addr="10.0.0.1"),
        SwarmNodeJoined(
            node_id="w1", hostname="vps-2", role="worker", address="10.0.0.2", labels={"zone": "eu"}
        ),
    ]
    recorded = call(services.store.append, "swarm", None, events, EventMeta(actor="test"))
    call(services.runner.wait_until, recorded[-1].position)


def test_more_copies_without_servers_are_refused_and_nothing_is_recorded(
    client, auth, call, services
):
    client.post("/api/v1/apps", json=WEB, headers=auth)
    before = len(call(services.store.read_all))

    refused = client.put("/api/v1/apps/web/scale", json={"replicas": 3}, headers=auth)

    assert refused.status_code == 422, refused.text
    assert "make this engine a swarm manager first (rivetr servers init)" in refused.text
    assert len(call(services.store.read_all)) == before


def test_a_scale_is_shown_with_the_app_and_a_live_app_is_redeployed_from_its_image(
    client, auth, call, services
):
    client.post("/api/v1/apps", json=WEB, headers=auth)
    servers(call, services)
    body = {
        "replicas": 3,
        "placement": {"constraints": {"zone": "eu"}, "spread": "zone"},
        "balance": "least_connections",
    }

    scaled = client.put("/api/v1/apps/web/scale", json=body, headers=auth)

    assert scaled.status_code == 200, scaled.text
    assert scaled.json()["deployment_id"] is None  # nothing live to redeploy yet
    assert scaled.json()["app"]["scale"] == body
    assert client.get("/api/v1/apps/web", headers=auth).json()["scale"] == body

    call(served_releases, services, "web", ("d0", "d1"), "default")
    again = client.put("/api/v1/apps/web/scale", json={"replicas": 2}, headers=auth)
    assert again.status_code == 200, again.text
    redeploy = again.json()["deployment_id"]
    assert redeploy is not None
    shown = client.get(f"/api/v1/deployments/{redeploy}", headers=auth).json()["deployment"]
    assert shown["image"] == "i1"  # the live release's, not built again
    same = client.put("/api/v1/apps/web/scale", json={"replicas": 2}, headers=auth)
    assert same.json()["deployment_id"] is None  # it changed nothing: nothing redeployed


def test_constraints_no_server_carries_are_refused_naming_the_labels(client, auth, call, services):
    client.post("/api/v1/apps", json=WEB, headers=auth)
    servers(call, services)
    placement = {"constraints": {"zone": "us"}}

    refused = client.put("/api/v1/apps/web/scale", json={"placement": placement}, headers=auth)

    assert refused.status_code == 422, refused.text
    assert "no server carries zone=us" in refused.text
    assert "vps-2 (zone=eu)" in refused.text


def test_a_scale_out_of_bounds_is_a_bad_request(client, auth):
    client.post("/api/v1/apps", json=WEB, headers=auth)
    for body in ({"replicas": 0}, {"replicas": 65}, {"balance": "random"}, {"replica": 2}):
        refused = client.put("/api/v1/apps/web/scale", json=body, headers=auth)
        assert refused.status_code == 400, (body, refused.text)
    unknown = client.put("/api/v1/apps/nope/scale", json={"replicas": 2}, headers=auth)
    assert unknown.status_code == 404, unknown.text
