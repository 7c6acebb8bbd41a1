"""A database's entries in the audit history, its export and the live stream are placed where
the database lives, with its backups' and restores' (each recorded with the database's id):
filtered by its project and environment, read by that project's readers and no one else's; a
team's backup targets are the team's entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.eventstore.export import read_jsonl_export
from rivetr.domain import backups, databases
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateProject
from rivetr.domain.database_commands import (
    BackUpDatabase,
    CreateDatabase,
    DeleteBackup,
    RestoreBackup,
    SetBackupTarget,
)
from rivetr.domain.database_events import BackupReadBack, BackupStored, DatabaseRunning
from rivetr.projections.audit import AuditQuery
from rivetr.service.reactors.hub import StreamFilter
from tests.web.conftest import PASSWORD

STAGING = {"project": "default/shop", "environment": "staging"}
# what the database's own stream, its backup's, the safety backup's and the restore's hold
PG_TYPES = [
    "database.created",
    "claim.name_claimed",
    "database.running",
    "backup.requested",
    "backup.stored",
    "backup.read_back",
    "backup.requested",  # the safety backup taken before the restore
    "restore.requested",
    "backup.deleted",
]


class World(NamedTuple):
    pg: str  # a postgres in shop/staging, backed up, restored from, its backup deleted
    cache: str  # a redis in blog/production


def reactor_meta(database_id: str) -> EventMeta:
    """What the runtime's and the backups' reactors record with a database's facts."""
    return EventMeta(actor="system:databases", team="default", resource=database_id)


def database_history(call: Callable[..., Any], services: Any) -> World:
    shop = CreateProject(team="default", project="shop", environments=["production", "staging"])
    call(services.projects.run, SYSTEM, shop)
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="blog"))
    made = CreateDatabase(name="pg", kind="postgres", project="shop", environment="staging")
    pg, _ = call(services.databases.create, SYSTEM, made)
    made = CreateDatabase(name="cache", kind="redis", project="blog")
    cache, _ = call(services.databases.create, SYSTEM, made)
    running = DatabaseRunning(database_id=pg, container="c", image="postgres:16-alpine")
    call(services.store.append, databases.stream_id(pg), 1, [running], reactor_meta(pg))
    backup_id, _ = call(services.backups.back_up, SYSTEM, BackUpDatabase(database_id=pg))
    steps = [
        BackupStored(backup_id=backup_id, key="k", size=3, sha256="abc"),
        BackupReadBack(backup_id=backup_id, size=3, sha256="abc"),
    ]
    call(services.store.append, backups.backup_stream(backup_id), 1, steps, reactor_meta(pg))
    call(services.backups.restore, SYSTEM, RestoreBackup(backup_id=backup_id))
    call(services.backups.delete_backup, SYSTEM, DeleteBackup(backup_id=backup_id))
    call(services.backups.set_target, SYSTEM, SetBackupTarget(team="default", name="nas"))
    return World(pg, cache)


def test_a_databases_entries_and_its_backups_are_placed_where_it_lives(
    client, auth, call, services
) -> None:
    world = database_history(call, services)
    staging = client.get("/api/v1/audit", params=STAGING, headers=auth).json()
    pg = [e for e in reversed(staging) if e["database_id"] == world.pg]
    assert [e["type"] for e in pg] == PG_TYPES
    assert {(e["database"], e["app"], e["app_id"]) for e in pg} == {("pg", None, None)}
    assert {(e["project"], e["environment"]) for e in pg} == {("shop", "staging")}
    # and nothing else there but the project's own
    assert {e["stream_id"] for e in staging if e["database_id"] is None} == {"project-default/shop"}

    blog = client.get("/api/v1/audit", params={"project": "blog"}, headers=auth).json()
    assert [(e["type"], e["database"]) for e in reversed(blog) if e["database"]] == [
        ("database.created", "cache"),
        ("claim.name_claimed", "cache"),
    ]
    everything = client.get("/api/v1/audit", params={"limit": 500}, headers=auth).json()
    (target,) = [e for e in everything if e["type"] == "team.backup_target_set"]
    assert (target["team"], target["project"], target["database"]) == ("default", None, None)


def test_the_export_by_place_takes_a_databases_events_as_the_history_does(
    client, auth, call, services
) -> None:
    database_history(call, services)
    staging = client.get("/api/v1/audit", params=STAGING, headers=auth).json()
    exported = client.get("/api/v1/audit/export", params=STAGING, headers=auth)
    assert exported.status_code == 200, exported.text
    events = list(read_jsonl_export(line for line in exported.content.splitlines() if line))
    assert [e.position for e in events] == sorted(e["position"] for e in staging)
    assert [e.type for e in events if e.resource is not None] == PG_TYPES


def test_a_databases_entries_are_read_by_its_projects_readers_alone(
    client, call, services, member, session_headers
) -> None:
    world = database_history(call, services)
    for email, project in (("shopper@example.com", "shop"), ("blogger@example.com", "blog")):
        user = member(email, "guest")
        call(services.teams.set_project_role, SYSTEM, "default", user, project, "viewer")
    everything = call(services.read.audit.search, AuditQuery(limit=500))
    pg_positions = {e.position for e in everything if e.database_id == world.pg}

    shopper = session_headers("shopper@example.com")
    seen = client.get("/api/v1/audit", params={"limit": 500}, headers=shopper).json()
    assert {e["database"] or e["stream_id"] for e in seen} == {"pg", "project-default/shop"}
    assert {e["position"] for e in seen} >= pg_positions
    one = min(pg_positions)
    page = client.get(f"/audit/events/{one}")  # as the session signed in last reads it
    assert page.status_code == 200
    assert world.pg in page.text  # its metadata names the database

    blogger = session_headers("blogger@example.com")
    seen = client.get("/api/v1/audit", params={"limit": 500}, headers=blogger).json()
    assert {e["database"] or e["stream_id"] for e in seen} == {"cache", "project-default/blog"}
    assert client.get(f"/audit/events/{one}").status_code == 404
    refused = client.get("/api/v1/audit", params=STAGING, headers=blogger)
    assert refused.status_code == 404
    exported = client.get("/api/v1/audit/export", headers=blogger)
    events = list(read_jsonl_export(line for line in exported.content.splitlines() if line))
    assert events
    assert not {e.position for e in events} & pg_positions


def test_the_live_stream_of_a_place_and_of_a_projects_reader_carries_its_databases_events(
    call, services, member
) -> None:
    world = database_history(call, services)
    user = member("shopper@example.com", "guest")
    call(services.teams.set_project_role, SYSTEM, "default", user, "shop", "viewer")
    secret, _ = call(services.users.sign_in, "shopper@example.com", PASSWORD)
    shopper = call(services.users.authenticate, secret)

    async def streamed(actor: Any, project: str | None, environment: str | None) -> list[Any]:
        """What the stream's route would send from the start of the log, as it builds it."""
        places = actor.readable_places()
        place = None
        if project is not None or environment is not None:
            place = await services.project_reads.following(actor, project, environment)
        wanted = StreamFilter(
            teams=places.team_names() if places is not None else None,
            instance=actor.reads_instance_events(),
            place=place,
            places=places,
            resource_projects=await services.audit_reads.resource_projects(places),
        )
        subscription = await services.hub.subscribe(wanted, 0)
        try:
            return [delivery async for delivery in services.hub.catch_up(subscription)]
        finally:
            services.hub.unsubscribe(subscription)

    for actor, project, environment in (
        (SYSTEM, "default/shop", "staging"),
        (SYSTEM, "shop", None),
        (shopper, None, None),
    ):
        got = call(streamed, actor, project, environment)
        assert [d.type for d in got if d.app == world.pg] == PG_TYPES, (actor.name, project)
        assert {d.app for d in got} == {world.pg, None}
    production = call(streamed, SYSTEM, "default/shop", "production")
    assert [d for d in production if d.app is not None] == []
    blog = call(streamed, SYSTEM, "blog", None)
    assert {d.app for d in blog if d.app is not None} == {world.cache}
