"""`rivetr projects` and `rivetr apps move` on a data directory, as an operator runs them: each
change recorded through the project service, a refusal said on stderr with exit status 1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rivetr.bootstrap import opened
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.e2e


def with_app(data: Path) -> None:
    """A data directory holding the app `web` in default/production."""

    async def create() -> None:
        settings = Settings(data_dir=str(data), engine="none", proxy_enabled=False)
        async with opened(settings) as services:
            await services.apps.handle(SYSTEM, CreateApp(name="web"))

    asyncio.run(create())


def test_projects_and_environments_are_made_listed_moved_into_and_deleted(tmp_path) -> None:
    data = tmp_path / "data"
    with_app(data)

    made = run_cli(data, "projects", "create", "shop", "--env", "staging", "--name", "Shop")
    assert made.returncode == 0, made.stderr
    assert "project default/shop created" in made.stderr
    added = run_cli(data, "projects", "env", "create", "default/shop", "qa")
    assert added.returncode == 0, added.stderr
    moved = run_cli(data, "apps", "move", "web", "shop", "staging")
    assert moved.returncode == 0, moved.stderr

    listed = run_cli(data, "projects", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "default/default\tproduction\t-",
        "default/shop\tproduction\t-",
        "default/shop\tstaging\tweb (never deployed)",
        "default/shop\tqa\t-",
    ]

    held = run_cli(data, "projects", "env", "delete", "shop", "staging")
    assert held.returncode == 1
    assert "environment 'staging' still holds app web" in held.stderr
    gone = run_cli(data, "projects", "env", "delete", "shop", "qa")
    assert gone.returncode == 0, gone.stderr
    assert run_cli(data, "apps", "move", "web", "default", "production").returncode == 0
    deleted = run_cli(data, "projects", "delete", "shop")
    assert deleted.returncode == 0, deleted.stderr
    assert (
        run_cli(data, "projects", "list").stdout
        == "default/default\tproduction\tweb (never deployed)\n"
    )


def test_what_is_not_there_or_not_a_name_is_refused(tmp_path) -> None:
    data = tmp_path / "data"
    with_app(data)
    nowhere = run_cli(data, "apps", "move", "web", "shop", "staging")
    assert nowhere.returncode == 1
    assert "no project 'shop' in team 'default'" in nowhere.stderr
    bad = run_cli(data, "projects", "create", "Not_A_Slug")
    assert bad.returncode == 2
    assert "Expected `str` matching regex" in bad.stderr
    default = run_cli(data, "projects", "delete", "default")
    assert default.returncode == 1
    assert "default project" in default.stderr
