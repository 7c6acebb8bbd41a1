"""Projects and environments through the services: apps made in them, moved between them, and
what a deletion is refused for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import (
    CreateApp,
    CreateEnvironment,
    CreateProject,
    DeleteEnvironment,
    DeleteProject,
    MoveApp,
    OpenPreview,
)
from rivetr.domain.errors import InvalidCommand, NotFound


def test_apps_live_in_environments_and_move_between_them(
    call: Callable[..., Any], services: Any
) -> None:
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="shop"))
    call(
        services.projects.run,
        SYSTEM,
        CreateEnvironment(team="default", project="shop", environment="staging"),
    )
    call(services.apps.handle, SYSTEM, CreateApp(name="old"))
    call(
        services.apps.handle,
        SYSTEM,
        CreateApp(name="web", project="shop", environment="staging"),
    )

    [default, shop] = call(services.read.projects.every)
    assert (default.project, default.environments) == ("default", ["production"])
    assert (shop.project, shop.environments) == ("shop", ["production", "staging"])
    assert [a.name for a in call(services.read.apps.placed, "default", "shop", "staging")] == [
        "web"
    ]
    assert call(services.read.apps.named, "old").environment == "production"

    with pytest.raises(InvalidCommand, match="environment 'staging' still holds app web"):
        call(
            services.projects.run,
            SYSTEM,
            DeleteEnvironment(team="default", project="shop", environment="staging"),
        )
    with pytest.raises(InvalidCommand, match=r"still holds app web \(in staging\)"):
        call(services.projects.run, SYSTEM, DeleteProject(team="default", project="shop"))

    call(
        services.projects.move,
        SYSTEM,
        MoveApp(name="web", project="shop", environment="production"),
    )
    moved = call(services.read.apps.named, "web")
    assert (moved.project, moved.environment) == ("shop", "production")
    call(
        services.projects.run,
        SYSTEM,
        DeleteEnvironment(team="default", project="shop", environment="staging"),
    )
    [_, shop] = call(services.read.projects.every)
    assert shop.environments == ["production"]


def test_an_app_is_not_made_or_moved_where_there_is_no_such_environment(
    call: Callable[..., Any], services: Any
) -> None:
    with pytest.raises(NotFound, match="no project 'shop' in team 'default'"):
        call(services.apps.handle, SYSTEM, CreateApp(name="web", project="shop"))
    call(services.apps.handle, SYSTEM, CreateApp(name="web"))
    with pytest.raises(NotFound, match="no environment 'qa' in project 'default'"):
        call(
            services.projects.move, SYSTEM, MoveApp(name="web", project="default", environment="qa")
        )
    assert call(services.read.apps.named, "web").environment == "production"


def test_a_team_is_deleted_only_once_its_projects_and_environments_are(
    call: Callable[..., Any], services: Any
) -> None:
    owner = "ann@example.com"
    call(services.users.create, SYSTEM, owner, "correct horse battery staple", "viewer")
    call(services.teams.create, SYSTEM, "acme", "Acme", owner)
    call(services.projects.run, SYSTEM, CreateProject(team="acme", project="shop"))
    call(
        services.projects.run,
        SYSTEM,
        CreateEnvironment(team="acme", project="default", environment="qa"),
    )

    with pytest.raises(InvalidCommand, match="still has environment default/qa, project shop"):
        call(services.teams.delete, SYSTEM, "acme")
    call(services.projects.run, SYSTEM, DeleteProject(team="acme", project="shop"))
    call(
        services.projects.run,
        SYSTEM,
        DeleteEnvironment(team="acme", project="default", environment="qa"),
    )
    call(services.teams.delete, SYSTEM, "acme")
    assert call(services.read.projects.every, ["acme"]) == []


def test_an_apps_previews_move_with_it_and_never_alone(
    call: Callable[..., Any], services: Any
) -> None:
    call(
        services.projects.run,
        SYSTEM,
        CreateEnvironment(team="default", project="default", environment="staging"),
    )
    call(services.apps.handle, SYSTEM, CreateApp(name="web", git_url="https://example.com/w.git"))
    preview = OpenPreview(name="web-pr-1", preview_of="web", pr_number=1, branch="feature")
    call(services.apps.open_preview, SYSTEM, preview)
    assert call(services.read.apps.named, "web-pr-1").environment == "production"

    with pytest.raises(InvalidCommand, match="'web-pr-1' is a preview"):
        call(
            services.projects.move,
            SYSTEM,
            MoveApp(name="web-pr-1", project="default", environment="staging"),
        )
    call(
        services.projects.move,
        SYSTEM,
        MoveApp(name="web", project="default", environment="staging"),
    )

    for name in ("web", "web-pr-1"):
        app = call(services.read.apps.named, name)
        assert (app.project, app.environment) == ("default", "staging")
