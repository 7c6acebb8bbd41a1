"""The builder port: decide how a checkout is built, then build it into an image on an engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from rivetr.adapters.runtime.base import ContainerRuntime
from rivetr.domain.settings import BuildSettings


class BuildPlanError(Exception):
    """No builder can build this checkout here; the message says what to install or add."""


class ImageBuilder(Protocol):
    """Turns a checkout into an image the runtime can run."""

    def plan(self, source: Path, settings: BuildSettings) -> str:
        """The builder that will build the checkout at `source` ("dockerfile", "static", ...).

        Raises:
            BuildPlanError: nothing fits, or the tool needed is not installed.
        """
        ...

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
        """Build the checkout at `source` into `tag` (labelled `labels`) on `runtime`; return
        the image ref. The first line sent to `on_output` names the builder and why.

        Raises:
            BuildPlanError: as `plan`.
            BuildFailed: the build itself failed; its `log` holds the output.
        """
        ...
