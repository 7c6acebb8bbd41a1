"""The builders against the real engine: a multi-stage Dockerfile with a build arg and a target,
a static site served by busybox httpd, a failing step, and a Dockerfile outside the repository."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from rivetr.adapters.builders.build import build_image
from rivetr.adapters.builders.dockerfile import build_dockerfile
from rivetr.adapters.builders.static import build_static
from rivetr.adapters.runtime.base import (
    MANAGED_LABEL,
    BuildFailed,
    ContainerRuntime,
    ContainerSpec,
)
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image
from rivetr.domain.settings import BuildSettings
from tests.engine import TEST_RUN_LABEL, connect_real_engine, remove_test_leftovers

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.docker]

MULTI_STAGE = f"""\
FROM {BUSYBOX_IMAGE} AS base
ARG GREETING=unset
RUN mkdir -p /www && echo "$GREETING" > /www/greeting.txt
COPY index.html /www/index.html

FROM base AS web
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]

# Never reached when the target is `web`: building it would fail.
FROM {BUSYBOX_IMAGE} AS broken
RUN false
"""


class Run:
    """One test's unique id, tag and labels; `cleanup` removes whatever it made."""

    def __init__(self, runtime: ContainerRuntime) -> None:
        self.runtime = runtime
        self.id = uuid.uuid4().hex[:10]
        self.tag = f"rivetr-test/builders-{self.id}:latest"
        self.labels = {MANAGED_LABEL: "true", TEST_RUN_LABEL: self.id}

    async def serve(self, image: str) -> str:
        """Run `image` with its port 8080 published; return the base URL."""
        started = await self.runtime.run_container(
            ContainerSpec(
                name=f"rivetr-test-builders-{self.id}",
                image=image,
                labels=self.labels,
                ports={8080: None},
            )
        )
        return f"http://127.0.0.1:{started.host_ports[8080]}"


@pytest.fixture
async def run(anyio_backend: str) -> AsyncIterator[Run]:
    runtime = await connect_real_engine()
    run = Run(runtime)
    try:
        await ensure_busybox_image(runtime)
        yield run
    finally:
        await remove_test_leftovers(runtime, run.id, [run.tag])
        await runtime.close()


async def test_a_multi_stage_dockerfile_builds_its_target_with_the_build_arg_and_serves(
    run: Run, tmp_path: Path
) -> None:
    page = f"<h1>dockerfile app {run.id}</h1>\n"
    (tmp_path / "index.html").write_text(page)
    (tmp_path / "package.json").write_text("{}")  # the Dockerfile must win over it
    (tmp_path / "Dockerfile").write_text(MULTI_STAGE)
    settings = BuildSettings(target="web", build_args={"GREETING": f"hi-{run.id}"})
    lines: list[str] = []

    builder, image = await build_image(
        run.runtime,
        tmp_path,
        settings,
        port=8080,
        tag=run.tag,
        labels=run.labels,
        on_output=lines.append,
    )

    assert (builder, lines[0]) == ("dockerfile", "Using detected Dockerfile")
    assert image.startswith("sha256:")
    url = await run.serve(image)
    assert await get_when_up(f"{url}/") == page
    assert await get_when_up(f"{url}/greeting.txt") == f"hi-{run.id}\n"


async def test_a_dockerfile_beside_the_context_but_inside_the_repository_builds(
    run: Run, tmp_path: Path
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "index.html").write_text("beside\n")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile.web").write_text(MULTI_STAGE)
    settings = BuildSettings(context="app", dockerfile="../docker/Dockerfile.web", target="web")

    image = await build_dockerfile(run.runtime, tmp_path, settings, run.tag, run.labels, None)

    url = await run.serve(image)
    assert await get_when_up(f"{url}/") == "beside\n"


async def test_a_static_site_is_served_by_busybox_httpd(run: Run, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(f"<h1>static {run.id}</h1>\n")
    (site / "about.html").write_text("<p>about</p>\n")
    before = sorted(os.listdir(tmp_path))
    lines: list[str] = []

    image = await build_static(
        run.runtime,
        tmp_path,
        BuildSettings(static_dir="site"),
        8080,
        run.tag,
        run.labels,
        lines.append,
    )

    assert sorted(os.listdir(tmp_path)) == before  # nothing written into the checkout
    url = await run.serve(image)
    assert await get_when_up(f"{url}/") == f"<h1>static {run.id}</h1>\n"
    assert await get_when_up(f"{url}/about.html") == "<p>about</p>\n"


async def test_a_failing_step_is_a_build_failure_whose_log_shows_the_step(
    run: Run, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BUSYBOX_IMAGE}\nRUN echo before-failing\nRUN false\n"
    )

    with pytest.raises(BuildFailed) as caught:
        await build_dockerfile(run.runtime, tmp_path, BuildSettings(), run.tag, run.labels, None)

    assert "RUN false" in caught.value.log
    assert "before-failing" in caught.value.log
    assert not await run.runtime.image_exists(run.tag)


async def test_a_dockerfile_path_escaping_the_repository_is_refused(
    run: Run, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "index.html").write_text("x\n")
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\nCOPY . /stolen\n")
    settings = BuildSettings(type="dockerfile", dockerfile="../Dockerfile")

    with pytest.raises(BuildFailed, match="leads outside the repository"):
        await build_image(
            run.runtime, repo, settings, port=8080, tag=run.tag, labels=run.labels, on_output=print
        )

    assert not await run.runtime.image_exists(run.tag)


async def get_when_up(url: str) -> str:
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
