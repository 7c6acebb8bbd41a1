"""On the real engine: an app whose values reference its team's, project's and environment's
shared variables deploys with them resolved in its container, and the deployment records the
names and sources it used, never a value."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import (
    ChangeAppSettings,
    ChangeProjectVariables,
    ChangeTeamVariables,
    CreateApp,
    CreateEnvironment,
    CreateProject,
    VariableScopeInput,
)
from rivetr.domain.events import VariablesResolved, VariableUse
from tests.integration import test_deploy_pipeline as pipeline_tests
from tests.integration.deploy_helpers import AppRepo, get_text
from tests.integration.test_deploy_pipeline import FAST_HEALTH, deploy, live_port

services = pipeline_tests.services  # the same service on the real engine, as a fixture here

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

# the container writes what its environment holds into the page it serves
SHOWS_ITS_ENV = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
CMD ["sh", "-c", "echo \\"$URL|$PLAIN\\" > /www/index.html && exec httpd -f -v -p 8080 -h /www"]
"""
PASSWORD = "s3cret-shared-pass"


async def test_references_resolve_into_the_container_and_only_names_are_recorded(
    services: Services, tmp_path: Path
) -> None:
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1", dockerfile=SHOWS_ITS_ENV)
    team, project, environment = "default", f"p{uuid.uuid4().hex[:6]}", "staging"
    await services.projects.run(SYSTEM, CreateProject(team=team, project=project))
    await services.projects.run(
        SYSTEM, CreateEnvironment(team=team, project=project, environment=environment)
    )
    await services.variables.change(
        SYSTEM, ChangeTeamVariables(team=team, variables={"DB_PASSWORD": PASSWORD})
    )
    await services.variables.change(
        SYSTEM,
        ChangeProjectVariables(
            team=team, project=project, variables={"DB_USER": "shop:${{team.DB_PASSWORD}}"}
        ),
    )
    await services.variables.change(
        SYSTEM,
        ChangeProjectVariables(
            team=team, project=project, environment=environment, variables={"DB_HOST": "db-1"}
        ),
    )
    name = f"t{uuid.uuid4().hex[:8]}"
    env = {"URL": "postgres://${{project.DB_USER}}@${{environment.DB_HOST}}/app", "PLAIN": "p"}
    await services.apps.handle(
        SYSTEM,
        CreateApp(
            name=name,
            git_url=str(repo.path),
            port=8080,
            health=FAST_HEALTH,
            env=env,
            project=project,
            environment=environment,
        ),
    )

    live = await deploy(services, name, "live")

    served = await get_text(await live_port(services, name))
    assert served.strip() == f"postgres://shop:{PASSWORD}@db-1/app|p"
    history = await services.store.read_stream(f"deployment-{live}")
    (resolved,) = [e.event for e in history if isinstance(e.event, VariablesResolved)]
    assert resolved.used == [
        VariableUse(name="URL", source="environment", key="DB_HOST"),
        VariableUse(name="URL", source="project", key="DB_USER"),
        VariableUse(name="URL", source="team", key="DB_PASSWORD"),
        VariableUse(name="PLAIN", source="app", key="PLAIN"),
    ]
    everything = b"".join(e.data for e in await services.store.read_all())
    assert PASSWORD.encode() not in everything
    log = services.logs.read(name, live) or ""
    assert "variable URL uses team.DB_PASSWORD" in log
    assert PASSWORD not in log
    steps = [s.type for s in await services.read.deployments.steps(live)]
    assert steps[:2] == ["deployment.requested", "deployment.variables_resolved"]


# the build writes its build argument into a page; the container writes its environment
BUILD_AND_RUN = (
    "FROM rivetr/busybox:latest\n"
    "ARG NPM_TOKEN\n"
    "COPY index.html /www/index.html\n"
    'RUN echo "built with [$NPM_TOKEN]" > /www/built.html\n'
    'CMD ["sh", "-c", "echo \\"runs with [$NPM_TOKEN] [$PLAIN]\\" > /www/index.html'
    ' && exec httpd -f -v -p 8080 -h /www"]\n'
)


async def test_a_build_time_variable_reaches_the_build_and_not_the_container(
    services: Services, tmp_path: Path
) -> None:
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1", dockerfile=BUILD_AND_RUN)
    await services.variables.change(
        SYSTEM,
        ChangeTeamVariables(
            team="default",
            variables={"NPM": "npm-123"},
            scopes={"NPM": VariableScopeInput(build=True, runtime=False)},
        ),
    )
    name = f"t{uuid.uuid4().hex[:8]}"
    await services.apps.handle(
        SYSTEM,
        CreateApp(
            name=name,
            git_url=str(repo.path),
            port=8080,
            health=FAST_HEALTH,
            env={"NPM_TOKEN": "${{team.NPM}}", "PLAIN": "p"},
        ),
    )
    build_only = VariableScopeInput(build=True, runtime=False, preview=False)
    await services.apps.handle(
        SYSTEM, ChangeAppSettings(name=name, env_scopes={"NPM_TOKEN": build_only})
    )

    live = await deploy(services, name, "live")

    port = await live_port(services, name)
    assert (await get_text(port)).strip() == "runs with [] [p]"
    async with httpx.AsyncClient() as client:
        built = await client.get(f"http://127.0.0.1:{port}/built.html", timeout=5)
    assert built.text.strip() == "built with [npm-123]"
    log = services.logs.read(name, live) or ""
    assert "variable NPM_TOKEN: build" in log
    assert "variable PLAIN: runtime, preview" in log
