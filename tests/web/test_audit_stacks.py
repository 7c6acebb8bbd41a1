"""A compose stack's entries in the audit history are placed where the stack lives, with its
releases' (each recorded with the stack's id): filtered by its project and environment, named
on the history page, and read by that project's readers and no one else's."""

from __future__ import annotations

from typing import Any

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateProject
from rivetr.domain.stack_commands import CreateStack, DeployStack
from rivetr.projections.audit import AuditQuery
from tests.web.test_audit import sign_in_with_token

STAGING = {"project": "default/shop", "environment": "staging"}
COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"


def stack_history(call: Any, services: Any) -> tuple[str, str]:
    """A stack in shop/staging, deployed once (no engine: its release stays requested), and
    one in blog/production."""
    shop = CreateProject(team="default", project="shop", environments=["production", "staging"])
    call(services.projects.run, SYSTEM, shop)
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="blog"))
    made = CreateStack(name="web", compose=COMPOSE, project="shop", environment="staging")
    web, _ = call(services.stacks.create, SYSTEM, made)
    call(services.stacks.deploy, SYSTEM, DeployStack(stack_id=web))
    made = CreateStack(name="notes", compose=COMPOSE, project="blog")
    notes, _ = call(services.stacks.create, SYSTEM, made)
    return web, notes


def test_a_stacks_entries_and_its_releases_are_placed_where_it_lives(
    client, auth, call, services
) -> None:
    web, _ = stack_history(call, services)
    staging = client.get("/api/v1/audit", params=STAGING, headers=auth).json()
    entries = [e for e in reversed(staging) if e["stack_id"] == web]
    assert [e["type"] for e in entries] == [
        "stack.created",
        "claim.name_claimed",
        "stack_release.requested",
    ]
    assert {(e["stack"], e["app"], e["app_id"]) for e in entries} == {("web", None, None)}
    assert {(e["project"], e["environment"]) for e in entries} == {("shop", "staging")}

    sign_in_with_token(client, auth)
    page = client.get("/audit")
    assert page.status_code == 200
    assert f'<a href="/stacks/{web}">web</a>' in page.text


def test_a_stacks_entries_are_read_by_its_projects_readers_alone(
    client, call, services, member, session_headers
) -> None:
    web, notes = stack_history(call, services)
    for email, project in (("shopper@example.com", "shop"), ("blogger@example.com", "blog")):
        user = member(email, "guest")
        call(services.teams.set_project_role, SYSTEM, "default", user, project, "viewer")
    everything = call(services.read.audit.search, AuditQuery(limit=500))
    web_positions = {e.position for e in everything if e.stack_id == web}

    shopper = session_headers("shopper@example.com")
    seen = client.get("/api/v1/audit", params={"limit": 500}, headers=shopper).json()
    assert {e["stack"] or e["stream_id"] for e in seen} == {"web", "project-default/shop"}
    one = min(web_positions)
    assert client.get(f"/audit/events/{one}").status_code == 200

    blogger = session_headers("blogger@example.com")
    seen = client.get("/api/v1/audit", params={"limit": 500}, headers=blogger).json()
    assert {e["stack"] or e["stream_id"] for e in seen} == {"notes", "project-default/blog"}
    assert not {e["position"] for e in seen} & web_positions
    assert client.get(f"/audit/events/{one}").status_code == 404
    assert notes in {e["stack_id"] for e in seen}
