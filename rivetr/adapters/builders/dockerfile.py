"""The Dockerfile builder: the repository's own Dockerfile, built by the container engine.

The context and the Dockerfile are both held inside the checkout: a `../` (or a symlink) that
leads out of it is refused before the engine sees the build.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rivetr.adapters.builders.detect import contained
from rivetr.adapters.builders.dockerfile_errors import explained
from rivetr.adapters.runtime.base import BuildFailed, ContainerRuntime
from rivetr.domain.settings import BuildSettings


def dockerfile_paths(source: Path, settings: BuildSettings) -> tuple[Path, str]:
    """(context directory, Dockerfile path relative to it) for `settings`, both inside `source`.

    Raises:
        BuildFailed: the context or the Dockerfile is outside the repository or missing.
    """
    context = contained(source, settings.context)
    if context is None:
        raise BuildFailed(
            f"build.context {settings.context!r} leads outside the repository: "
            "give a directory inside it"
        )
    if not context.is_dir():
        raise BuildFailed(
            f"build context {settings.context!r} is not a directory in the repository"
        )
    dockerfile = contained(source, os.path.join(settings.context, settings.dockerfile))
    if dockerfile is None:
        raise BuildFailed(
            f"build.dockerfile {settings.dockerfile!r} leads outside the repository: "
            "give a path inside it, relative to the build context"
        )
    if not dockerfile.is_file():
        raise BuildFailed(
            f"Dockerfile not found at {shown_path(settings)} in the repository: add it, or set"
            " build.dockerfile"
        )
    # The engine takes the Dockerfile relative to the context; one beside it (../Dockerfile,
    # still in the repository) is fine: the Docker SDK sends it along with the context.
    return context, os.path.relpath(dockerfile, context)


def shown_path(settings: BuildSettings) -> str:
    """The Dockerfile's path in the repository, as a user would write it."""
    return os.path.normpath(os.path.join(settings.context, settings.dockerfile))


async def build_dockerfile(
    runtime: ContainerRuntime,
    source: Path,
    settings: BuildSettings,
    tag: str,
    labels: dict[str, str],
    on_output: Callable[[str], None] | None,
) -> str:
    """Build the checkout at `source` with its Dockerfile into `tag`; return the image id."""
    context, dockerfile = dockerfile_paths(source, settings)
    try:
        return await runtime.build_image(
            context,
            tag,
            dockerfile=dockerfile,
            build_args=dict(settings.build_args),
            target=settings.target,
            labels=labels,
            on_output=on_output,
        )
    except BuildFailed as exc:
        raise explained(exc, context / dockerfile, shown_path(settings), on_output) from exc
