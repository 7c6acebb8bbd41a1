"""One contract for the builder port: `FakeBuilder` on the in-memory runtime must build as
`RuntimeBuilder` does on the real engine (marked `integration` and `docker`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from rivetr.adapters.builders.base import BuildPlanError, ImageBuilder
from rivetr.adapters.builders.build import RuntimeBuilder
from rivetr.adapters.builders.fake import FakeBuilder
from rivetr.adapters.runtime.base import BuildFailed
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.domain.settings import BuildSettings
from tests.contract.conftest import WEB_DOCKERFILE, Engine, open_engine
from tests.engine import TEST_RUN_LABEL

pytestmark = pytest.mark.anyio

AUTO = BuildSettings()


@dataclass
class Builds:
    builder: ImageBuilder
    engine: Engine

    async def build(self, **files: str) -> tuple[str, list[str]]:
        """Build a checkout of `files`; return (the image, the output lines)."""
        checkout = self.engine.context(files.pop("Dockerfile"), **files)
        lines: list[str] = []
        image = await self.builder.build(
            self.engine.runtime,
            checkout,
            AUTO,
            port=8080,
            tag=self.engine.image_tag("built"),
            labels={TEST_RUN_LABEL: self.engine.run_id},
            on_output=lines.append,
        )
        return image, lines


@pytest.fixture(
    params=[
        "fake",
        pytest.param("docker", marks=[pytest.mark.integration, pytest.mark.docker]),
        pytest.param("podman", marks=[pytest.mark.integration, pytest.mark.podman]),
    ]
)
async def builds(
    request: pytest.FixtureRequest, anyio_backend: str, tmp_path
) -> AsyncIterator[Builds]:  # type: ignore[no-untyped-def]
    builder: ImageBuilder = FakeBuilder() if request.param == "fake" else RuntimeBuilder()
    async for engine in open_engine(request.param, tmp_path):
        yield Builds(builder, engine)


async def test_a_checkout_with_a_dockerfile_is_planned_and_built_by_it(builds: Builds) -> None:
    checkout = builds.engine.context(WEB_DOCKERFILE, **{"index.html": "hi"})
    assert builds.builder.plan(checkout, AUTO) == "dockerfile"

    image, lines = await builds.build(Dockerfile=WEB_DOCKERFILE, **{"index.html": "hi"})

    assert lines[0] == "Using detected Dockerfile"
    assert any(BUSYBOX_IMAGE in line for line in lines)
    assert await builds.engine.runtime.image_exists(image)


async def test_the_image_carries_the_labels_asked_for(builds: Builds) -> None:
    await builds.build(Dockerfile=WEB_DOCKERFILE, **{"index.html": "hi"})

    found = await builds.engine.runtime.list_images({TEST_RUN_LABEL: builds.engine.run_id})

    assert [tag for image in found for tag in image.tags] == builds.engine.images


async def test_a_failing_step_raises_build_failed_with_the_output_so_far(builds: Builds) -> None:
    if isinstance(builds.builder, FakeBuilder):
        builds.builder.fail_next("returned a non-zero code: 3", ["before-the-failure"])

    with pytest.raises(BuildFailed, match=r"(non-zero code: |exit status )3$") as failure:
        await builds.build(
            Dockerfile=f"FROM {BUSYBOX_IMAGE}\nRUN echo before-the-failure; exit 3\n"
        )

    assert "before-the-failure" in failure.value.log.splitlines()


async def test_a_checkout_with_nothing_to_build_has_no_plan(builds: Builds) -> None:
    empty = builds.engine.workdir / "empty"
    empty.mkdir()

    with pytest.raises(BuildPlanError, match="add a Dockerfile"):
        builds.builder.plan(empty, AUTO)


async def test_an_unknown_instruction_is_named_with_its_line_the_engines_words_kept(
    builds: Builds,
) -> None:
    typo = f"FROM {BUSYBOX_IMAGE}\n# a comment\nLABEL a=b \\\n  c=d\nRUNN echo hi\n"
    lines: list[str] = []

    with pytest.raises(BuildFailed) as failure:
        await builds.builder.build(
            builds.engine.runtime,
            builds.engine.context(typo),
            AUTO,
            port=8080,
            tag=builds.engine.image_tag("typo"),
            labels={},
            on_output=lines.append,
        )

    assert str(failure.value) == (
        "line 5 of Dockerfile has an unknown instruction RUNN: `RUNN echo hi`; did you mean RUN?"
    )
    assert any("unknown instruction" in line.lower() for line in lines)
    assert "RUNN" in failure.value.log
