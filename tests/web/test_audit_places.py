"""The audit history and its export filtered by project and environment: each entry is placed
where its app lived when it happened (an app moved later keeps its earlier entries where they
were), a project's own events in that project; unknown places are 404, an environment alone is
that environment of every project, and a place of a team the reader does not read is as
absent as none."""

from __future__ import annotations

import re
from typing import Any

from rivetr.adapters.eventstore.chain import verify_export
from rivetr.adapters.eventstore.export import read_jsonl_export
from tests.web.test_audit import sign_in_with_token

PLACE = {"project": "default/shop", "environment": "staging"}


def placed_history(client: Any, auth: dict[str, str]) -> None:
    """shop with staging; web made in shop/staging; api made in default/production, then
    moved to shop/staging and changed there; web moved to shop/production, then changed."""
    made = client.post(
        "/api/v1/projects", json={"project": "shop", "environments": ["staging"]}, headers=auth
    )
    assert made.status_code == 201, made.text
    for name, place in (("web", {"project": "shop", "environment": "staging"}), ("api", {})):
        answer = client.post("/api/v1/apps", json={"name": name, **place}, headers=auth)
        assert answer.status_code == 201, answer.text
    for name, environment, port in (("api", "staging", 3001), ("web", "production", 3002)):
        moved = client.post(
            f"/api/v1/apps/{name}/move",
            json={"project": "shop", "environment": environment},
            headers=auth,
        )
        assert moved.status_code == 200, moved.text
        assert client.patch(f"/api/v1/apps/{name}", json={"port": port}, headers=auth).is_success


def test_entries_are_placed_where_their_app_was_when_they_happened(client, auth) -> None:
    placed_history(client, auth)
    staging = client.get("/api/v1/audit", params=PLACE, headers=auth).json()
    assert [(e["type"], e["app"]) for e in reversed(staging)] == [
        ("project.created", None),  # the project as a whole: in every environment's history
        ("app.created", "web"),
        ("claim.name_claimed", "web"),
        ("app.moved", "api"),  # where it moved to
        ("app.settings_changed", "api"),
    ]
    assert {(e["project"], e["environment"]) for e in staging} == {
        ("shop", "staging"),
        ("shop", None),
    }

    shop = client.get("/api/v1/audit", params={"project": "shop"}, headers=auth).json()
    assert ("app.settings_changed", "web") in [(e["type"], e["app"]) for e in shop]
    assert ("app.created", "api") not in [(e["type"], e["app"]) for e in shop]
    default = client.get(
        "/api/v1/audit", params={"project": "default", "environment": "production"}, headers=auth
    ).json()
    assert [(e["type"], e["app"]) for e in reversed(default)] == [
        ("app.created", "api"),
        ("claim.name_claimed", "api"),
    ]


def test_the_export_by_place_takes_the_same_entries_and_verifies_as_filtered(client, auth) -> None:
    placed_history(client, auth)
    staging = client.get("/api/v1/audit", params=PLACE, headers=auth).json()
    exported = client.get("/api/v1/audit/export", params=PLACE, headers=auth)
    assert exported.status_code == 200, exported.text
    events = list(read_jsonl_export(line for line in exported.content.splitlines() if line))
    assert [e.position for e in events] == sorted(e["position"] for e in staging)
    assert verify_export(events, filtered=True).count == len(events)


def test_unknown_places_are_refused_and_an_environment_alone_is_every_projects(
    client, auth, member, session_headers
) -> None:
    placed_history(client, auth)
    for params, status in (
        ({"project": "nope"}, 404),
        ({"project": "shop", "environment": "qa"}, 404),
        ({"environment": "qa"}, 404),
    ):
        for route in ("/api/v1/audit", "/api/v1/audit/export"):
            answer = client.get(route, params=params, headers=auth)
            assert answer.status_code == status, (route, params, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")

    alone = client.get("/api/v1/audit", params={"environment": "staging"}, headers=auth).json()
    assert alone == client.get("/api/v1/audit", params=PLACE, headers=auth).json()  # only shop's

    member("mal@example.com", "owner", "globex")
    mal = session_headers("mal@example.com")
    assert client.get("/api/v1/audit", params=PLACE, headers=mal).status_code == 404
    theirs = client.get("/api/v1/audit", params={"project": "default"}, headers=mal).json()
    assert {e["team"] for e in theirs} <= {"globex"}


def test_the_audit_page_filters_by_place_and_its_export_links_carry_it(client, auth) -> None:
    placed_history(client, auth)
    sign_in_with_token(client, auth)
    page = client.get("/audit", params=PLACE).text
    assert 'id="f-project" name="project" value="default/shop"' in page
    assert "project=default%2Fshop&amp;environment=staging" in page  # the export links
    listed = client.get("/api/v1/audit", params=PLACE, headers=auth).json()
    shown = [int(p) for p in re.findall(r'<tr data-position="(\d+)"', page)]
    assert shown == [e["position"] for e in listed]
    unknown = client.get("/audit", params={"project": "nope"})
    assert unknown.status_code == 200
    assert 'id="audit-empty"' in unknown.text
