"""The one entry point of the builders: decide how to build a checkout, say why, then build it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from rivetr.adapters.builders.detect import Which, contained, detect_build_type
from rivetr.adapters.builders.dockerfile import build_dockerfile
from rivetr.adapters.builders.external import build_with_cli
from rivetr.adapters.builders.static import build_static
from rivetr.adapters.runtime.base import BuildFailed, ContainerRuntime
from rivetr.domain.settings import BuildSettings


async def build_image(
    runtime: ContainerRuntime,
    source: Path,
    settings: BuildSettings,
    *,
    port: int,
    tag: str,
    labels: dict[str, str],
    on_output: Callable[[str], None],
    which: Which = shutil.which,
) -> tuple[str, str]:
    """Build the checkout at `source` into `tag`; return (builder, image ref).

    The first line sent to `on_output` names the builder and why it was chosen.

    Raises:
        BuildPlanError: no builder fits, or the one needed is not installed.
        BuildFailed: the build itself failed.
    """
    builder, reason = detect_build_type(source, settings, which=which)
    on_output(reason)
    if builder == "dockerfile":
        image = await build_dockerfile(runtime, source, settings, tag, labels, on_output)
    elif builder == "static":
        image = await build_static(runtime, source, settings, port, tag, labels, on_output)
    else:
        app = contained(source, settings.context)
        if app is None or not app.is_dir():
            raise BuildFailed(
                f"build.context {settings.context!r} is not a directory in the repository"
            )
        image = await build_with_cli(builder, app, tag, on_output, dict(settings.build_args))
    return builder, image


class RuntimeBuilder:
    """The builder port over the builders here: a Dockerfile or a static site built by the
    container engine, or an external CLI (Railpack, Nixpacks, `pack`) when one is installed."""

    def __init__(self, which: Which = shutil.which) -> None:
        self.which = which

    def plan(self, source: Path, settings: BuildSettings) -> str:
        return detect_build_type(source, settings, which=self.which)[0]

    async def build(
        self,
        runtime: ContainerRuntime,
        source: Path,
        settings: BuildSettings,
        *,
        port: int,
        tag: str,
        labels: dict[str, str],
        on_output: Callable[[str], None],
    ) -> str:
        _, image = await build_image(
            runtime,
            source,
            settings,
            port=port,
            tag=tag,
            labels=labels,
            on_output=on_output,
            which=self.which,
        )
        return image
