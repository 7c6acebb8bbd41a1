"""Pruning never takes the image of a deployment still in flight, even before its image_built
event names it (the build finished a moment ago)."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.domain.events import (
    BuildStarted,
    DeploymentFailed,
    DeploymentRequested,
    SourceFetched,
)
from rivetr.service.reactors.pruning import prune_images


async def scenario(services, tmp_path) -> tuple[list[str], list[str]]:
    runtime = FakeRuntime()
    await runtime.import_image(b"fs", BUSYBOX_IMAGE, cmd=["/bin/sh"])
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\n")
    web = await services.lookup.by_name("web")
    labels = {"rivetr.managed": "true", "rivetr.app": web.app_id, "rivetr.deployment": "d9"}
    await runtime.build_image(tmp_path, "rivetr/web:d9", labels=labels)
    meta = EventMeta(actor="test", team=web.team, resource=web.app_id)
    history = [
        DeploymentRequested(deployment_id="d9", app="web", app_id=web.app_id, branch="main"),
        SourceFetched(deployment_id="d9", commit_sha="a" * 40, commit_message="m", duration_ms=1),
        BuildStarted(deployment_id="d9", builder="dockerfile"),
    ]
    await services.store.append("deployment-d9", 0, history, meta)
    await services.runner.wait_until(await services.store.head())

    while_building = await prune_images(services.read, runtime, services.store, web, keep=1)

    failed = DeploymentFailed(deployment_id="d9", step="build", reason="test")
    await services.store.append("deployment-d9", 3, [failed], meta)
    await services.runner.wait_until(await services.store.head())
    after_failing = await prune_images(services.read, runtime, services.store, web, keep=1)
    return while_building, after_failing


def test_an_in_flight_build_keeps_its_image_until_it_ends(client, auth, call, services, tmp_path):
    client.post(
        "/api/v1/apps",
        json={"name": "web", "git_url": "https://git.example.com/web.git"},
        headers=auth,
    )

    while_building, after_failing = call(scenario, services, tmp_path)

    assert while_building == []
    assert after_failing == ["rivetr/web:d9"]
