"""The container a release runs in, as the pipeline and the reconciler both ask for it."""

from __future__ import annotations

from rivetr.domain.application import AppState
from rivetr.domain.settings import HealthCheck, Resources
from rivetr.service.reactors.pipeline import release_spec


def test_a_release_runs_with_the_apps_limits_env_ports_and_labels() -> None:
    app = AppState(
        app_id="a1",
        name="web",
        exists=True,
        port=3000,
        health=HealthCheck(port=3001),
        resources=Resources(memory_mb=256, cpus=0.5),
        env={"A": "1"},
    )

    spec = release_spec(app, "d1", "sha256:abc")

    assert spec.name == "rivetr-web-d1"
    assert spec.image == "sha256:abc"
    assert spec.memory_bytes == 256 * 1024 * 1024
    assert spec.nano_cpus == 500_000_000
    assert spec.env == {"A": "1"}
    assert spec.ports == {3000: None, 3001: None}  # free loopback ports, chosen by the engine
    # the app by its id: a later app of the same name never passes for it
    assert spec.labels == {"rivetr.managed": "true", "rivetr.app": "a1", "rivetr.deployment": "d1"}
    assert spec.restart_policy == "unless-stopped"


def test_the_default_limits_are_half_a_gigabyte_and_one_cpu() -> None:
    spec = release_spec(AppState(app_id="a1", name="web", exists=True), "d1", "img")

    assert (spec.memory_bytes, spec.nano_cpus) == (512 * 1024 * 1024, 1_000_000_000)
