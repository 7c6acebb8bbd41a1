"""The real engine end to end: connect, import the base image, build, serve HTTP, clean up."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    ContainerRuntime,
    ContainerSpec,
    EngineUnavailable,
)
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image
from rivetr.adapters.runtime.detect import DOCKER_SOCKET, candidate_urls, connect_runtime
from tests.engine import TEST_RUN_LABEL, connect_real_engine, remove_test_leftovers

pytestmark = pytest.mark.anyio


@pytest.fixture
async def runtime(anyio_backend: str) -> AsyncIterator[ContainerRuntime]:
    runtime = await connect_real_engine()
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.mark.integration
@pytest.mark.docker
async def test_a_busybox_web_app_builds_serves_http_and_is_removed(
    runtime: ContainerRuntime, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex[:10]
    tag = f"rivetr-test/web-{run_id}:latest"
    page = f"<h1>hello from {run_id}</h1>\n"
    (tmp_path / "index.html").write_text(page)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BUSYBOX_IMAGE}\n"
        "COPY index.html /www/index.html\n"
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n'
    )
    try:
        info = await runtime.ping()
        assert info.kind in ("docker", "podman")

        assert await ensure_busybox_image(runtime) == BUSYBOX_IMAGE
        assert await runtime.image_exists(BUSYBOX_IMAGE)

        output: list[str] = []
        image_id = await runtime.build_image(tmp_path, tag, on_output=output.append)
        assert image_id.startswith("sha256:")
        assert output

        started = await runtime.run_container(
            ContainerSpec(
                name=f"rivetr-test-web-{run_id}",
                image=tag,
                labels={MANAGED_LABEL: "true", TEST_RUN_LABEL: run_id},
                ports={8080: None},
            )
        )
        assert started.state == "running"
        assert await _get_when_up(f"http://127.0.0.1:{started.host_ports[8080]}/") == page

        with anyio.fail_after(5):
            await runtime.stop_container(started.id)
        stopped = await runtime.inspect_container(started.id)
        assert stopped is not None
        assert stopped.state == "exited"

        await runtime.remove_container(started.id)
        assert await runtime.inspect_container(started.id) is None
        await runtime.remove_image(tag)
        assert not await runtime.image_exists(tag)
    finally:
        await remove_test_leftovers(runtime, run_id, [tag])


@pytest.mark.integration
@pytest.mark.docker
async def test_ensure_busybox_image_is_idempotent(runtime: ContainerRuntime) -> None:
    await ensure_busybox_image(runtime)

    assert await ensure_busybox_image(runtime) == BUSYBOX_IMAGE
    assert await runtime.image_exists(BUSYBOX_IMAGE)


@pytest.mark.integration
@pytest.mark.docker
async def test_a_docker_host_that_does_not_answer_is_skipped_for_the_next_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not await anyio.Path(DOCKER_SOCKET.removeprefix("unix://")).exists():
        pytest.skip(f"needs a Docker engine at {DOCKER_SOCKET}")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")

    runtime = await connect_runtime("docker")
    try:
        assert (await runtime.ping()).url == DOCKER_SOCKET
    finally:
        await runtime.close()


async def test_an_unreachable_url_raises_engine_unavailable_naming_it(tmp_path: Path) -> None:
    not_a_socket = tmp_path / "docker.sock"
    not_a_socket.write_text("")

    with pytest.raises(EngineUnavailable, match=f"unix://{not_a_socket}"):
        await connect_runtime(url=f"unix://{not_a_socket}")
    with pytest.raises(EngineUnavailable, match="no such socket"):
        await connect_runtime(url=f"unix://{tmp_path}/absent.sock")


def test_candidates_start_with_docker_host_and_keep_to_the_engine_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.1:2375")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")

    assert candidate_urls("auto") == [
        "tcp://10.0.0.1:2375",
        "unix:///var/run/docker.sock",
        "unix:///run/podman/podman.sock",
        "unix:///run/user/1000/podman/podman.sock",
    ]
    assert candidate_urls("docker") == ["tcp://10.0.0.1:2375", "unix:///var/run/docker.sock"]
    monkeypatch.delenv("DOCKER_HOST")
    assert candidate_urls("podman") == [
        "unix:///run/podman/podman.sock",
        "unix:///run/user/1000/podman/podman.sock",
    ]


async def _get_when_up(url: str) -> str:
    """The body of the first 200 answer from `url`; the server needs a moment to listen."""
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        last: Exception | str = "no answer"
        for _ in range(100):
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return response.text
                last = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                last = exc
            await anyio.sleep(0.05)
    raise AssertionError(f"{url} never answered 200: {last}")
