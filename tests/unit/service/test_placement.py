"""Picking a place's events out of the live stream: the apps and databases there now, kept
current by the app.created, app.moved and database.created that come after the read model was
asked, and the project's own events (of the environment asked for, or of the whole project)."""

from __future__ import annotations

import msgspec

from rivetr.service.reactors.placement import PlaceEvents

SHOP = frozenset({("acme", "shop")})


def event(data: dict[str, object], team: str | None = "acme") -> bytes:
    return msgspec.json.encode({"team": team, "data": data})


def test_the_apps_there_and_the_projects_own_events_are_taken() -> None:
    staging = PlaceEvents(SHOP, "staging", {"web"}, since=10)
    assert staging.accepts(11, "deployment.requested", "deployment-d1", "web", event({}))
    assert not staging.accepts(12, "deployment.requested", "deployment-d2", "api", event({}))
    assert not staging.accepts(13, "user.created", "user-x", None, event({}, team=None))
    own = "project-acme/shop"
    assert staging.accepts(14, "project.created", own, None, event({"environments": ["x"]}))
    assert staging.accepts(
        15, "project.environment_created", own, None, event({"environment": "staging"})
    )
    assert not staging.accepts(
        16, "project.environment_created", own, None, event({"environment": "qa"})
    )
    assert not staging.accepts(17, "project.created", "project-globex/shop", None, event({}))


def test_apps_that_arrive_are_followed_and_those_that_leave_are_not() -> None:
    staging = PlaceEvents(SHOP, "staging", {"web"}, since=10)
    arrives = event({"name": "api", "project": "shop", "environment": "staging"})
    assert staging.accepts(11, "app.created", "app-api", "api", arrives)
    assert staging.accepts(12, "app.settings_changed", "app-api", "api", event({}))
    leaves = event({"project": "shop", "environment": "production"})
    assert staging.accepts(13, "app.moved", "app-web", "web", leaves)  # the move out is told
    assert not staging.accepts(14, "app.settings_changed", "app-web", "web", event({}))
    elsewhere = event({"name": "db", "project": "shop", "environment": "staging"}, team="globex")
    assert not staging.accepts(15, "app.created", "app-db", "db", elsewhere)
    older = event({"name": "old"})  # an older log's app.created: default/production
    whole = PlaceEvents(frozenset({("acme", "default")}), None, set(), since=0)
    assert whole.accepts(1, "app.created", "app-old", "old", older)


def test_what_the_read_model_already_held_is_not_undone() -> None:
    """Events up to `since` are the read model's: an app that was in staging once and is
    not now is not taken back by its old app.created."""
    staging = PlaceEvents(SHOP, "staging", set(), since=10)
    was_here = event({"name": "web", "project": "shop", "environment": "staging"})
    assert not staging.accepts(5, "app.created", "app-web", "web", was_here)
    assert not staging.accepts(11, "app.settings_changed", "app-web", "web", event({}))


def test_a_database_made_there_is_followed_with_its_backups_and_one_made_elsewhere_is_not() -> None:
    staging = PlaceEvents(SHOP, "staging", set(), since=10)
    made = event({"name": "pg", "team": "acme", "project": "shop", "environment": "staging"})
    assert staging.accepts(11, "database.created", "database-pg", "pg", made)
    assert staging.accepts(12, "backup.requested", "backup-b1", "pg", event({}))
    assert staging.accepts(13, "restore.requested", "restore-r1", "pg", event({}))
    production = event({"name": "db", "project": "shop", "environment": "production"})
    assert not staging.accepts(14, "database.created", "database-db", "db", production)
    assert not staging.accepts(15, "backup.requested", "backup-b2", "db", event({}))
    assert not staging.accepts(16, "team.backup_target_set", "team-acme", None, event({}))
