"""`${{<db>.URL}}` and its parts in an app's variables: resolved at deploy time to the database
of the app's environment (reached by its name on the environment's network, which the release
then joins), withheld from builds and previews, refused when no such database is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.database_commands import CreateDatabase
from rivetr.domain.references import UnresolvedReference
from rivetr.service.commands.secrets import open_app
from rivetr.service.commands.variables import SharedScopes
from rivetr.service.reactors.variables_step import prepare


def prepared(call: Callable[..., Any], services: Any, name: str) -> Any:
    app = open_app(services.secrets, call(services.lookup.by_name, name))
    return call(prepare, SharedScopes(services.store, services.secrets), app)


def test_a_database_reference_is_its_connection_on_the_environments_network(
    call: Callable[..., Any], services: Any
) -> None:
    database_id, _ = call(
        services.databases.create, SYSTEM, CreateDatabase(name="pg", kind="postgres")
    )
    env = {"DATABASE_URL": "${{pg.URL}}", "DB_HOST": "${{pg.HOST}}:${{pg.PORT}}"}
    call(services.apps.handle, SYSTEM, CreateApp(name="web", env=env))
    ready = prepared(call, services, "web")
    password = services.secrets.open(
        f"database:{database_id}:password",
        call(services.database_keeper.state, database_id).password,
    )
    assert ready.app.env["DATABASE_URL"] == f"postgres://app:{password}@pg:5432/app"
    assert ready.app.env["DB_HOST"] == "pg:5432"
    assert ready.network == "rivetr.default.default.production"
    assert {(u.name, u.source, u.key) for u in ready.used} >= {("DATABASE_URL", "pg", "URL")}


def test_no_database_no_network_and_an_unknown_one_is_refused(
    call: Callable[..., Any], services: Any
) -> None:
    call(services.apps.handle, SYSTEM, CreateApp(name="plain", env={"A": "1"}))
    assert prepared(call, services, "plain").network is None
    call(services.apps.handle, SYSTEM, CreateApp(name="typo", env={"U": "${{pq.URL}}"}))
    with pytest.raises(UnresolvedReference, match="pq"):
        prepared(call, services, "typo")


def test_a_build_time_reference_to_a_database_is_withheld_with_why(
    call: Callable[..., Any], services: Any
) -> None:
    call(services.databases.create, SYSTEM, CreateDatabase(name="cache", kind="redis"))
    call(
        services.apps.handle,
        SYSTEM,
        CreateApp(name="builder", env={"REDIS": "${{cache.URL}}"}),
    )
    from rivetr.domain.commands import ChangeAppSettings
    from rivetr.domain.events import VariableScope

    call(
        services.apps.handle,
        SYSTEM,
        ChangeAppSettings(
            name="builder",
            env_scopes={"REDIS": VariableScope(build=True, runtime=False, preview=False)},
        ),
    )
    with pytest.raises(UnresolvedReference, match="running containers only"):
        prepared(call, services, "builder")
