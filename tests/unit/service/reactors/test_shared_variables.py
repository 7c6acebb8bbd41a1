"""Deployments resolve the references in an app's values to its team's, project's and
environment's shared variables, on the ports' twins: the container gets the resolved values,
the deployment records names and sources only, and an unresolvable reference fails it before
anything is fetched or built."""

from __future__ import annotations

import pytest

from rivetr.adapters.webhooks.base import Hook
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import (
    ChangeAppSettings,
    ChangeProjectVariables,
    ChangeTeamVariables,
    CreateEnvironment,
    CreateProject,
    MoveApp,
    VariableScopeInput,
)
from rivetr.domain.events import VariablesResolved, VariableUse
from rivetr.service.commands.secrets import open_app
from tests.unit.service.reactors.house import House, create_app, types, until

pytestmark = pytest.mark.anyio


def pull_request(number: int, branch: str) -> Hook:
    """A pull request opened from a branch of the app's own repository."""
    return Hook(
        provider="github",
        event="pull_request",
        kind="pull_request",
        action="opened",
        pr_number=number,
        pr_source_branch=branch,
        pr_from_fork=False,
    )


async def deploy(services, expect: str) -> str:  # type: ignore[no-untyped-def]
    deployment_id = await services.deployments.request(SYSTEM, "web")
    state = await until(services, deployment_id, {"live", "failed"})
    assert state.status == expect, await services.read.deployments.by_id(deployment_id)
    return deployment_id


async def test_the_container_gets_resolved_values_and_the_log_gets_names(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        await services.variables.change(
            SYSTEM, ChangeTeamVariables(team="default", variables={"DOMAIN": "example.com"})
        )
        await services.variables.change(
            SYSTEM,
            ChangeProjectVariables(
                team="default",
                project="default",
                environment="production",
                variables={"DB_HOST": "db.${{team.DOMAIN}}"},
            ),
        )
        env = {"URL": "postgres://${{environment.DB_HOST}}/app", "PLAIN": "1"}
        await services.apps.handle(SYSTEM, ChangeAppSettings(name="web", env=env))

        live = await deploy(services, "live")

        (container,) = [c for c in house.runtime._containers.values() if c.state == "running"]
        assert container.spec.env == {"URL": "postgres://db.example.com/app", "PLAIN": "1"}
        history = await services.store.read_stream(f"deployment-{live}")
        (resolved,) = [e.event for e in history if isinstance(e.event, VariablesResolved)]
        assert resolved.used == [
            VariableUse(name="URL", source="environment", key="DB_HOST"),
            VariableUse(name="URL", source="team", key="DOMAIN"),
            VariableUse(name="PLAIN", source="app", key="PLAIN"),
        ]
        assert b"example.com" not in b"".join(e.data for e in history)
        log = services.logs.read("web", live) or ""
        assert "variable URL uses environment.DB_HOST" in log
        assert "example.com" not in log


async def test_a_cycle_fails_the_deployment_before_the_source_is_fetched(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        await services.projects.run(SYSTEM, CreateProject(team="default", project="shop"))
        await services.projects.run(
            SYSTEM, CreateEnvironment(team="default", project="shop", environment="staging")
        )
        await services.projects.move(
            SYSTEM, MoveApp(name="web", project="shop", environment="staging")
        )
        await services.variables.change(
            SYSTEM,
            ChangeProjectVariables(
                team="default", project="shop", variables={"A": "${{environment.B}}"}
            ),
        )
        await services.variables.change(
            SYSTEM,
            ChangeProjectVariables(
                team="default",
                project="shop",
                environment="staging",
                variables={"B": "${{project.A}}"},
            ),
        )
        await services.apps.handle(
            SYSTEM, ChangeAppSettings(name="web", env={"URL": "${{project.A}}"})
        )

        failed = await deploy(services, "failed")

        assert await types(services, failed) == ["deployment.requested", "deployment.failed"]
        view = await services.read.deployments.by_id(failed)
        assert view is not None
        assert view.failed_step == "variables"
        assert "project.A -> environment.B -> project.A" in (view.failure_reason or "")


async def test_a_change_names_the_apps_that_take_it_up(house: House) -> None:
    async with house.running() as services:
        await create_app(services, "web")
        await create_app(services, "api")
        await services.apps.handle(
            SYSTEM, ChangeAppSettings(name="web", env={"URL": "${{project.HOST}}"})
        )
        await services.variables.change(
            SYSTEM,
            ChangeProjectVariables(
                team="default", project="default", variables={"HOST": "${{team.HOST}}"}
            ),
        )

        changed = await services.variables.change(
            SYSTEM, ChangeTeamVariables(team="default", variables={"HOST": "h", "OTHER": "o"})
        )

        assert changed.set == ["HOST", "OTHER"]
        assert changed.apps == ["web"]  # through project.HOST; api references nothing
        unchanged = await services.variables.change(
            SYSTEM, ChangeTeamVariables(team="default", variables={"HOST": "h"})
        )
        assert (unchanged.set, unchanged.apps) == ([], [])


async def test_build_time_values_go_to_the_build_and_runtime_ones_to_the_container(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        await services.variables.change(
            SYSTEM,
            ChangeTeamVariables(
                team="default",
                variables={"NPM": "npm-secret"},
                scopes={"NPM": VariableScopeInput(build=True, runtime=False)},
            ),
        )
        scopes = {
            "NPM_TOKEN": VariableScopeInput(build=True, runtime=False, preview=False),
            "BOTH": VariableScopeInput(build=True, runtime=True),
        }
        env = {"NPM_TOKEN": "${{team.NPM}}", "BOTH": "b", "PLAIN": "r"}
        await services.apps.handle(SYSTEM, ChangeAppSettings(name="web", env=env))
        await services.apps.handle(SYSTEM, ChangeAppSettings(name="web", env_scopes=scopes))

        live = await deploy(services, "live")

        (build,) = house.runtime.builds
        assert build.build_args == {"NPM_TOKEN": "npm-secret", "BOTH": "b"}
        (container,) = [c for c in house.runtime._containers.values() if c.state == "running"]
        assert container.spec.env == {"BOTH": "b", "PLAIN": "r"}
        log = services.logs.read("web", live) or ""
        assert "variable NPM_TOKEN: build" in log
        assert "variable BOTH: build, runtime" in log
        assert "variable PLAIN: runtime, preview" in log
        assert "npm-secret" not in log


async def test_a_preview_takes_preview_scoped_values_and_their_preview_values(
    house: House,
) -> None:
    async with house.running() as services:
        await create_app(services)
        env = {"DB": "prod-db", "STRIPE": "live-key", "PLAIN": "p"}
        await services.apps.handle(SYSTEM, ChangeAppSettings(name="web", env=env))
        await services.apps.handle(
            SYSTEM,
            ChangeAppSettings(
                name="web",
                env_scopes={"STRIPE": VariableScopeInput(runtime=True, preview=False)},
                env_preview={"DB": "preview-db"},
            ),
        )
        parent = await services.lookup.by_name("web")
        hook = pull_request(7, "feature")

        name = await services.previews.open(SYSTEM, parent, hook)

        preview = open_app(services.secrets, await services.lookup.by_name(name))
        assert preview.env == {"DB": "preview-db", "PLAIN": "p"}
        parent_values = open_app(services.secrets, parent)
        assert parent_values.env_preview == {"DB": "preview-db"}


async def test_a_build_time_value_may_not_take_a_shared_variable_kept_from_builds(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        await services.variables.change(
            SYSTEM, ChangeTeamVariables(team="default", variables={"SECRET": "runtime-only"})
        )
        await services.apps.handle(
            SYSTEM, ChangeAppSettings(name="web", env={"ARG": "${{team.SECRET}}"})
        )
        build_only = VariableScopeInput(build=True, runtime=False, preview=False)
        await services.apps.handle(
            SYSTEM, ChangeAppSettings(name="web", env_scopes={"ARG": build_only})
        )

        failed = await deploy(services, "failed")

        view = await services.read.deployments.by_id(failed)
        assert view is not None
        assert view.failed_step == "variables"
        assert view.failure_reason == "ARG -> team.SECRET: team.SECRET is not given to builds"


async def test_a_preview_takes_shared_preview_values_and_not_what_is_kept_from_previews(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await create_app(services)
        await services.variables.change(
            SYSTEM,
            ChangeTeamVariables(
                team="default",
                variables={"DB": "prod-db", "STRIPE": "live-key"},
                scopes={"STRIPE": VariableScopeInput(preview=False)},
                preview={"DB": "preview-db"},
            ),
        )
        await services.apps.handle(
            SYSTEM, ChangeAppSettings(name="web", env={"DB_URL": "${{team.DB}}"})
        )
        parent = await services.lookup.by_name("web")
        hook = pull_request(3, "main")
        name = await services.previews.open(SYSTEM, parent, hook)

        preview_deployment = await services.deployments.request(SYSTEM, name)
        state = await until(services, preview_deployment, {"live", "failed"})
        assert state.status == "live"
        running = [c for c in house.runtime._containers.values() if c.state == "running"]
        assert [c.spec.env for c in running] == [{"DB_URL": "preview-db"}]

        await services.apps.handle(
            SYSTEM, ChangeAppSettings(name=name, env={"KEY": "${{team.STRIPE}}"})
        )
        refused = await services.deployments.request(SYSTEM, name)
        assert (await until(services, refused, {"live", "failed"})).status == "failed"
        view = await services.read.deployments.by_id(refused)
        assert view is not None
        assert view.failure_reason == "KEY -> team.STRIPE: team.STRIPE is not given to previews"
