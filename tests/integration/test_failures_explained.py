"""The three commonest mistakes on the real engine, each ending in the sentence a user needs:
an app set to a port its image does not listen on, a health path the app does not serve, and a
Dockerfile typo. Each sentence is looked for with grep, in the deploy log and in the
deployment's failure reason."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from rivetr.domain.events import HealthProbed, ImageBuilt
from rivetr.domain.settings import HealthCheckInput
from tests.integration.deploy_helpers import (
    LISTENS_ON_8080,
    SERVING,
    TYPO,
    AppRepo,
    wait_for_status,
)
from tests.integration.test_deploy_pipeline import services  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]


async def failed(  # type: ignore[no-untyped-def]
    opened: Services, tmp_path: Path, dockerfile: str, port: int, path: str = "/", deadline_s=20
):
    """Deploy `dockerfile` as an app set to `port`, checked at `path`; it must fail."""
    health = HealthCheckInput(path=path, interval_s=0.2, timeout_s=1, boot_deadline_s=deadline_s)
    repo = AppRepo(tmp_path / "repo")
    repo.commit("v1", dockerfile=dockerfile)
    name = f"t{uuid.uuid4().hex[:8]}"
    await opened.apps.handle(
        SYSTEM, CreateApp(name=name, git_url=str(repo.path), port=port, health=health)
    )
    deployment_id = await opened.deployments.request(SYSTEM, name)
    state = await wait_for_status(opened, deployment_id, {"failed"})
    assert state.status == "failed"
    view = await opened.read.deployments.by_id(deployment_id)
    events = [e.event for e in await opened.store.read_stream(f"deployment-{deployment_id}")]
    return view, events, opened.logs.path(name, deployment_id)


def grep(sentence: str, path: Path) -> bool:
    return subprocess.run(["grep", "-qF", sentence, str(path)], check=False).returncode == 0


async def test_an_app_set_to_a_port_the_image_does_not_listen_on_says_both_ports(
    services: Services,  # noqa: F811
    tmp_path: Path,
) -> None:
    view, events, log = await failed(services, tmp_path, LISTENS_ON_8080, 3000, deadline_s=3)

    sentence = "the image listens on 8080; the app is set to 3000"
    [built] = [e for e in events if isinstance(e, ImageBuilt)]
    assert (built.exposed_ports, built.port) == ([8080], 3000)
    assert view.failed_step == "health"
    assert sentence in view.failure_reason
    assert grep(f"warning: {sentence}", log)  # right after the build
    assert grep(f"failed at health: {sentence}", log)


async def test_a_health_path_the_app_does_not_serve_fails_after_three_404s(
    services: Services,  # noqa: F811
    tmp_path: Path,
) -> None:
    view, events, log = await failed(services, tmp_path, SERVING, 8080, "/healthz")

    probes = [e for e in events if isinstance(e, HealthProbed)]
    # the first probes may find httpd not listening yet; then three 404s, and no more
    assert [p.status for p in probes if p.status is not None] == [404, 404, 404]
    assert probes[-1].status == 404
    assert len(probes) < 20  # a check waiting out its 20 s would have made about 100
    sentence = (
        "the health check GET /healthz on port 8080 answered 404 Not Found 3 times in a row:"
        " the app has no such path; set the health path to one it serves"
    )
    assert view.failure_reason == sentence
    assert grep(sentence, log)
    assert grep(f"GET {probes[-1].url} → 404 Not Found", log)


async def test_a_dockerfile_typo_names_the_instruction_and_its_line(
    services: Services,  # noqa: F811
    tmp_path: Path,
) -> None:
    view, _, log = await failed(services, tmp_path, TYPO, 8080)

    sentence = (
        "line 3 of Dockerfile has an unknown instruction RUNN: `RUNN echo hi`; did you mean RUN?"
    )
    assert view.failed_step == "build"
    assert view.failure_reason == sentence
    assert grep(sentence, log)
    assert grep("unknown instruction: RUNN", log)  # the engine's own words, kept
