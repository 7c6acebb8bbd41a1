"""The three commonest mistakes, each ending in the sentence a user needs, on the in-memory
twins: an app set to a port its image does not listen on, a health path the app does not
serve (given up on after a few answers, not the whole deadline), and a Dockerfile typo."""

from __future__ import annotations

import pytest

from rivetr.adapters.health.fake import REFUSED
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import ChangeAppSettings, CreateApp
from rivetr.domain.events import HealthProbed, ImageBuilt
from rivetr.domain.settings import HealthCheckInput
from tests.unit.service.reactors.house import URL, House, until

pytestmark = pytest.mark.anyio

LISTENS_ON_8080 = f"FROM {BUSYBOX_IMAGE}\nEXPOSE 8080\nCMD httpd -f -p 8080\n"


async def failed_deployment(house: House, dockerfile: str, port: int, path: str = "/"):  # type: ignore[no-untyped-def]
    house.source.commit(URL, {"Dockerfile": dockerfile, "index.html": "hi"}, "v1")
    async with house.running() as services:
        health = HealthCheckInput(path=path, interval_s=1, timeout_s=1, boot_deadline_s=30)
        await services.apps.handle(
            SYSTEM, CreateApp(name="web", git_url=URL, port=port, health=health)
        )
        deployment_id = await services.deployments.request(SYSTEM, "web")
        state = await until(services, deployment_id, {"failed", "live"})
        assert state.status == "failed"
        view = await services.read.deployments.by_id(deployment_id)
        events = [e.event for e in await services.store.read_stream(f"deployment-{deployment_id}")]
        return view, events, services.logs.read("web", deployment_id)


async def test_a_port_the_image_does_not_listen_on_is_the_failures_first_words(
    house: House,
) -> None:
    house.prober.otherwise(REFUSED)

    view, events, log = await failed_deployment(house, LISTENS_ON_8080, port=3000)

    [built] = [e for e in events if isinstance(e, ImageBuilt)]
    assert (built.exposed_ports, built.port) == ([8080], 3000)
    assert view.failed_step == "health"
    assert view.failure_reason.startswith("the image listens on 8080; the app is set to 3000")
    assert "connection refused" in view.failure_reason
    assert "warning: the image listens on 8080; the app is set to 3000" in log
    # 30 refused probes, one event each, told in the log as the first and one summary line
    probes = [e for e in events if isinstance(e, HealthProbed)]
    assert len(probes) == 30
    assert log.count("connection refused (same as above)") == 1
    assert "probes 2–30: connection refused (same as above)" in log  # noqa: RUF001


async def test_a_missing_health_path_fails_after_three_404s_naming_the_path(
    house: House,
) -> None:
    house.prober.otherwise(404)

    view, events, log = await failed_deployment(house, LISTENS_ON_8080, 8080, "/healthz")

    probes = [e for e in events if isinstance(e, HealthProbed)]
    assert [p.status for p in probes] == [404, 404, 404]
    assert (probes[0].url or "").endswith("/healthz")
    assert view.failure_reason == (
        "the health check GET /healthz on port 8080 answered 404 Not Found 3 times in a row:"
        " the app has no such path; set the health path to one it serves"
    )
    assert f"probe 1: GET {probes[0].url} → 404 Not Found" in log
    assert "probes 2–3: 404 Not Found (same as above)" in log  # noqa: RUF001


async def test_a_dockerfile_typo_names_the_line_and_the_instruction(house: House) -> None:
    typo = f"FROM {BUSYBOX_IMAGE}\n\nRUNN echo hi\n"

    view, _, log = await failed_deployment(house, typo, port=8080)

    assert view.failed_step == "build"
    assert view.failure_reason == (
        "line 3 of Dockerfile has an unknown instruction RUNN: `RUNN echo hi`; did you mean RUN?"
    )
    assert "dockerfile parse error line 3: unknown instruction: RUNN" in log  # the engine's words


async def test_the_app_warns_when_its_port_is_changed_to_one_its_image_does_not_listen_on(
    house: House,
) -> None:
    house.source.commit(URL, {"Dockerfile": LISTENS_ON_8080, "index.html": "hi"}, "v1")
    async with house.running() as services:
        await services.apps.handle(SYSTEM, CreateApp(name="web", git_url=URL, port=8080))
        fresh = await services.read.apps.named("web")
        assert fresh is not None
        assert fresh.port_warning is None  # no image yet: nothing to compare with
        deployment_id = await services.deployments.request(SYSTEM, "web")
        assert (await until(services, deployment_id, {"live", "failed"})).status == "live"

        await services.apps.handle(SYSTEM, ChangeAppSettings(name="web", port=3000))
        await services.runner.wait_until(await services.store.head())
        changed = await services.read.apps.named("web")
        await services.apps.handle(SYSTEM, ChangeAppSettings(name="web", port=8080))
        await services.runner.wait_until(await services.store.head())
        back = await services.read.apps.named("web")

    assert changed is not None
    assert changed.port_warning == "the image listens on 8080; the app is set to 3000"
    assert back is not None
    assert back.port_warning is None
