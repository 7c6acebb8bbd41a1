"""`FakeBuilder`: an in-memory twin of the builder port. It knows one builder, the checkout's
own Dockerfile, handed to the runtime it is given (the `FakeRuntime` in unit tests), and can be
told to fail the next build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rivetr.adapters.builders.base import BuildPlanError
from rivetr.adapters.builders.dockerfile_errors import explained
from rivetr.adapters.runtime.base import BuildFailed, ContainerRuntime
from rivetr.domain.settings import BuildSettings

REASON = "Using detected Dockerfile"


class FakeBuilder:
    def __init__(self) -> None:
        self.built: list[str] = []  # the tag of every build asked for, in order
        self._failure: tuple[str, list[str]] | None = None

    def fail_next(self, message: str, output: list[str] | None = None) -> None:
        """Make the next build stream `output`, then raise BuildFailed(`message`)."""
        self._failure = (message, output or [])

    def plan(self, source: Path, settings: BuildSettings) -> str:
        if not (source / settings.context / settings.dockerfile).is_file():
            raise BuildPlanError(
                f"no Dockerfile, no index.html and no recognised language files in {source}: "
                "add a Dockerfile or set build.type"
            )
        return "dockerfile"

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
        self.plan(source, settings)
        self.built.append(tag)
        on_output(REASON)
        if self._failure is not None:
            (message, output), self._failure = self._failure, None
            for line in output:
                on_output(line)
            raise BuildFailed(message, "\n".join(output))
        context = source / settings.context
        try:
            return await runtime.build_image(
                context,
                tag,
                dockerfile=settings.dockerfile,
                build_args=dict(settings.build_args),
                target=settings.target,
                labels=labels,
                on_output=on_output,
            )
        except BuildFailed as exc:
            raise explained(exc, context / settings.dockerfile, "Dockerfile", on_output) from exc
