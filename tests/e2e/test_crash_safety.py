"""Kill -9 the service at each step of a deployment, start it again, and check what the brief
promises: no orphan container, every deployment at rest, the old release still serving, and a
live release whose container died started again. Real engine, real `rivetr serve`."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from tests.e2e.served_app import AT_REST, DOCKER, FAST_HEALTH, Rivetr, live_v1, serves
from tests.integration.deploy_helpers import NOT_LISTENING, SLOW_BUILD

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.docker]


def assert_at_rest_with_v1_serving(rivetr: Rivetr, v1: str, port: int) -> None:
    response = rivetr.call("GET", f"/apps/{rivetr.app}/deployments")
    statuses = {d["id"]: d["status"] for d in response.json()}
    assert set(statuses.values()) <= AT_REST, statuses
    assert statuses[v1] == "live"
    assert rivetr.deployment(v1)["live"]
    assert serves(port) == "v1"
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v1}": "running"}


def test_killed_mid_build_the_deployment_fails_and_v1_keeps_serving(rivetr):
    v1, port = live_v1(rivetr)
    rivetr.repo.commit("v2 builds for ten minutes", dockerfile=SLOW_BUILD)
    v2 = rivetr.deploy()
    rivetr.wait_for(v2, {"building"})
    time.sleep(1)  # well inside `RUN sleep 600`

    rivetr.crash_and_restart()

    detail = rivetr.wait_for(v2, AT_REST, timeout=30)
    assert detail["deployment"]["status"] == "failed"
    assert detail["deployment"]["failed_step"] == "building"
    assert "interrupted" in detail["deployment"]["failure_reason"]
    assert_at_rest_with_v1_serving(rivetr, v1, port)


def test_killed_while_the_new_container_is_checked_it_is_removed_as_an_orphan(rivetr):
    v1, port = live_v1(rivetr)
    # v2 never answers, and the app now gives a release a minute to boot
    patched = rivetr.call(
        "PATCH", f"/apps/{rivetr.app}", json={"health": {**FAST_HEALTH, "boot_deadline_s": 60}}
    )
    assert patched.status_code == 200, patched.text
    rivetr.repo.commit("v2 never listens", dockerfile=NOT_LISTENING)
    v2 = rivetr.deploy()
    rivetr.wait_for(v2, {"health_checking"})
    assert f"rivetr-{rivetr.app}-{v2}" in rivetr.containers()

    rivetr.crash_and_restart()

    detail = rivetr.wait_for(v2, AT_REST, timeout=30)
    assert detail["deployment"]["status"] == "failed"
    deadline = time.monotonic() + 30  # the reconciler runs once the engine answers
    while f"rivetr-{rivetr.app}-{v2}" in rivetr.containers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert_at_rest_with_v1_serving(rivetr, v1, port)
    removed = [e for e in rivetr.events() if e["type"] == "engine.orphan_removed"]
    assert any(e["data"]["container_name"] == f"rivetr-{rivetr.app}-{v2}" for e in removed)


def test_killed_while_the_old_release_drains_it_is_retired_after_the_restart(rivetr):
    v1, old_port = live_v1(rivetr)
    rivetr.repo.commit("v2")
    v2 = rivetr.deploy()
    detail = rivetr.wait_for(v2, AT_REST)
    assert detail["deployment"]["status"] == "live"
    assert rivetr.deployment(v1)["deployment"]["status"] == "superseded"  # draining for 30 s

    rivetr.crash_and_restart()

    assert rivetr.wait_for(v1, {"retired"}, timeout=30)["deployment"]["status"] == "retired"
    new_port = detail["deployment"]["host_port"]
    assert serves(new_port) == "v2"
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v2}": "running"}
    with pytest.raises(httpx.TransportError):
        serves(old_port)


def test_a_live_container_removed_while_the_service_was_down_is_started_again(rivetr):
    v1, old_port = live_v1(rivetr)
    rivetr.server.stop(kill=True)
    subprocess.run(
        [DOCKER, "rm", "-f", f"rivetr-{rivetr.app}-{v1}"], check=True, capture_output=True
    )

    rivetr.server = rivetr.factory(rivetr.data, rivetr.env).start()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        steps = [s["type"] for s in rivetr.deployment(v1)["steps"]]
        if "deployment.restarted" in steps:
            break
        time.sleep(0.2)
    detail = rivetr.deployment(v1)
    assert [s["type"] for s in detail["steps"]][-1] == "deployment.restarted"
    assert detail["deployment"]["status"] == "live"
    new_port = detail["deployment"]["host_port"]
    assert new_port != old_port
    assert serves(new_port) == "v1"
    assert rivetr.containers() == {f"rivetr-{rivetr.app}-{v1}": "running"}
