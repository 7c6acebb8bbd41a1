"""An app's copies on its page: its scale in words, a live release's copies by server with those
the copy watch took out and why, the steps of a release on servers told readably in the
timeline, and the scale form (compact for an app on one copy) going through the scale service,
its refusals shown in their words with what was typed."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.events import DeploymentHealthy, DeploymentRequested
from rivetr.domain.replica_events import (
    CopiesChanged,
    ImagePushed,
    LeftCopy,
    Member,
    ServiceStarted,
    TaskRunning,
    TrafficBalanced,
)
from tests.web.page_parts import problem, text_of, value
from tests.web.releases import served_releases
from tests.web.test_api_scaling import WEB, servers

A = Member(task_id="t1", node="vps-2", address="10.0.0.2", port=30001)
B = Member(task_id="t2", node="vps-3", address="10.0.0.3", port=30002)
C = Member(task_id="t3", node="vps-2", address="10.0.0.2", port=30003)
REFUSED = "failed its check: connection refused"


def owner(client, member, session_headers, auth) -> str:  # type: ignore[no-untyped-def]
    """`web` made, and its team's owner (the instance's admin) signed in: their CSRF token."""
    assert client.post("/api/v1/apps", json=WEB, headers=auth).status_code == 201
    member("root@example.com", "owner")
    return str(session_headers("root@example.com")["X-CSRF-Token"])


async def live_on_servers(services: Any) -> None:
    """`web` live as three copies over two servers, one of them since taken out; one append,
    so the deployer finds it past `requested` and leaves it be."""
    web = await services.lookup.by_name("web")
    history: list[Any] = [
        DeploymentRequested(
            deployment_id="d1", app="web", app_id=web.app_id, branch="main", image="i1"
        ),
        ImagePushed(deployment_id="d1", image="registry.test/web@sha256:ab", duration_ms=1),
        ServiceStarted(
            deployment_id="d1",
            service_id="s1",
            service_name="rivetr-web-d1",
            image="registry.test/web@sha256:ab",
            replicas=3,
            duration_ms=1,
        ),
        *(TaskRunning(deployment_id="d1", slot=n, member=m) for n, m in enumerate((A, B, C), 1)),
        DeploymentHealthy(deployment_id="d1", probes=3, duration_ms=1),
        TrafficBalanced(deployment_id="d1", app="web", members=[A, B, C], balance="round_robin"),
        CopiesChanged(
            deployment_id="d1", app="web", members=[A, C], left=[LeftCopy(member=B, reason=REFUSED)]
        ),
    ]
    meta = EventMeta(actor="test", team=web.team, resource=web.app_id)
    recorded = await services.store.append("deployment-d1", 0, history, meta)
    await services.runner.wait_until(recorded[-1].position)


def test_an_app_on_one_copy_shows_a_compact_form_and_is_refused_more_without_servers(
    client, member, session_headers, auth, log_types
) -> None:
    token = owner(client, member, session_headers, auth)
    page = client.get("/apps/web").text
    assert text_of(page, "scale-summary") == "One copy on this machine."
    assert 'id="copies-table"' not in page
    assert "Scale it out" in page
    assert value(page, "replicas") == "1"

    refused = client.post(
        "/apps/web/scale",
        data={"csrf_token": token, "replicas": "3", "spread": "zone", "balance": "round_robin"},
    )
    assert refused.status_code == 422
    assert "make this engine a swarm manager first" in (
        text_of(refused.text, "scale-problem") or ""
    )
    assert value(refused.text, "replicas") == "3"  # what was typed, kept
    assert value(refused.text, "spread") == "zone"
    assert "app.scaled" not in log_types()


def test_a_scale_is_recorded_from_the_form_and_bad_inputs_are_refused_beside_them(
    client, member, session_headers, auth, call, services, log_types
) -> None:
    token = owner(client, member, session_headers, auth)
    servers(call, services)
    form = {"csrf_token": token, "replicas": "3", "constraints": "zone=eu", "spread": "zone"}

    scaled = client.post(
        "/apps/web/scale", data={**form, "balance": "least_connections"}, follow_redirects=False
    )

    assert scaled.status_code in (302, 303), scaled.text
    assert scaled.headers["location"] == "/apps/web#copies"  # nothing live to redeploy
    page = client.get("/apps/web").text
    summary = text_of(page, "scale-summary") or ""
    assert "3 copies on servers, placed zone=eu, spread over zone" in summary
    assert "balanced least connections" in summary
    assert "the scale takes effect at the next deploy" in (text_of(page, "no-copies") or "")
    assert "Change the scale" in page
    assert text_of(page, "f-constraints") == "zone=eu"

    for typed, field, said in (
        ({"replicas": "65"}, "replicas", "copies are a whole number from 1 to 64, not '65'"),
        ({"replicas": "two"}, "replicas", "copies are a whole number from 1 to 64"),
        ({"constraints": "zone"}, "constraints", "line 1 is not KEY=VALUE: 'zone'"),
        ({"spread": "a zone"}, "spread", "'a zone' is not a label key"),
    ):
        bad = client.post("/apps/web/scale", data={**form, **typed})
        assert bad.status_code == 422, typed
        assert said in (problem(bad.text, field) or ""), bad.text
    nowhere = client.post("/apps/web/scale", data={**form, "constraints": "zone=us"})
    assert nowhere.status_code == 422
    assert "no server carries zone=us" in (text_of(nowhere.text, "scale-problem") or "")
    assert text_of(nowhere.text, "f-constraints") == "zone=us"
    assert log_types().count("app.scaled") == 1


def test_a_live_app_scaled_from_the_form_is_redeployed_and_a_viewer_is_refused(
    client, member, session_headers, auth, call, services, log_types
) -> None:
    token = owner(client, member, session_headers, auth)
    servers(call, services)
    call(served_releases, services, "web", ("d0", "d1"), "default")

    scaled = client.post(
        "/apps/web/scale", data={"csrf_token": token, "replicas": "2"}, follow_redirects=False
    )

    assert scaled.status_code in (302, 303), scaled.text
    assert scaled.headers["location"].startswith("/deployments/")
    member("viewer@example.com", "viewer")
    viewer = session_headers("viewer@example.com")["X-CSRF-Token"]
    refused = client.post("/apps/web/scale", data={"csrf_token": viewer, "replicas": "1"})
    assert refused.status_code == 403
    assert log_types().count("app.scaled") == 1
    assert client.post("/apps/web/scale", data={"replicas": "1"}).status_code == 403  # no token


def test_the_live_copies_are_shown_by_server_with_those_taken_out_and_why(
    client, member, session_headers, auth, call, services
) -> None:
    owner(client, member, session_headers, auth)
    servers(call, services)
    scale = {"replicas": 3, "placement": {"constraints": {"zone": "eu"}}}
    assert client.put("/api/v1/apps/web/scale", json=scale, headers=auth).status_code == 200
    call(live_on_servers, services)

    page = client.get("/apps/web").text

    summary = text_of(page, "scale-summary") or ""
    assert summary == "3 copies on servers, placed zone=eu; traffic balanced round robin."

    table = page.split('id="copies-table"', 1)[1].split("</table>", 1)[0]
    rows = {node: row for node, row in (r.split('"', 1) for r in table.split('data-node="')[1:])}
    assert "10.0.0.2:30001" in rows["vps-2"]
    assert "10.0.0.2:30003" in rows["vps-2"]
    assert "10.0.0.3:30002" in rows["vps-3"]
    assert REFUSED in rows["vps-3"]
    assert "healthy" not in rows["vps-3"]  # its one copy is out
    timeline = text_of(page, "timeline-d1") or ""
    assert "pushed for every server to pull as registry.test/web@sha256:ab" in timeline
    assert "service rivetr-web-d1: 3 copies of registry.test/web@sha256:ab" in timeline
    assert "copy 2 running on vps-3 10.0.0.3:30002" in timeline
    assert "traffic balanced (round robin) over 3 copies: vps-2 10.0.0.2:30001" in timeline
    assert f"taken out: vps-3 10.0.0.3:30002 ({REFUSED}); 2 copies in the balance now" in timeline


def test_the_scale_page_shows_the_form_and_an_unknown_app_is_not_found(
    client, member, session_headers, auth
) -> None:
    owner(client, member, session_headers, auth)
    page = client.get("/apps/web/scale")
    assert page.status_code == 200
    assert text_of(page.text, "scale-summary") == "Now: One copy on this machine."
    assert value(page.text, "replicas") == "1"
    assert client.get("/apps/nope/scale").status_code == 404
