"""Each service's image for a stack release: the one a rollback asks for, one built from the
stack's files (through the same builders as apps, with the service's args and target), or the
one the compose file names, through the instance's image map. Nothing starts before every
image is on the host."""

from __future__ import annotations

from pathlib import Path

from rivetr.adapters.logs import DeploymentLog
from rivetr.adapters.runtime.base import ContainerRuntime
from rivetr.domain.compose.service_options import Build
from rivetr.domain.compose.stack_file import StackFile
from rivetr.domain.settings import BuildSettings
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.domain.stacks import StackState
from rivetr.service.reactors.stack_ports import StackPorts, StepFailed
from rivetr.service.reactors.stack_specs import SERVICE_LABEL, stack_labels


async def ready_image(
    ports: StackPorts,
    runtime: ContainerRuntime,
    stack: StackState,
    state: StackReleaseState,
    stack_file: StackFile,
    name: str,
    checkout: Path,
    log: DeploymentLog,
) -> tuple[str, bool]:
    """The image (by id) service `name` runs in this release, and whether it was built here.

    Raises:
        StepFailed: the image is not on this host.
        BuildFailed, BuildPlanError: as the builder raises them.
    """
    service = stack_file.project.services[name]
    wanted = state.wanted_images.get(name)
    built = False
    if wanted is not None:
        image = wanted
    elif service.build is not None:
        image, built = (
            await _build(ports, runtime, stack, state, name, service.build, checkout, log),
            True,
        )
    else:
        assert service.image is not None  # checks.py refuses a service with neither
        image = ports.images.get(service.image, service.image)
    # the id, not the tag: a rollback starts these bytes again whatever the tag names then
    image_id = await runtime.image_id(image)
    if image_id is None:
        raise StepFailed(f"image {image} is not on this host")
    return image_id, built


async def _build(
    ports: StackPorts,
    runtime: ContainerRuntime,
    stack: StackState,
    state: StackReleaseState,
    name: str,
    build: Build,
    checkout: Path,
    log: DeploymentLog,
) -> str:
    dockerfile = build.dockerfile or "Dockerfile"
    if build.dockerfile_inline is not None:
        inline = checkout / build.context / f".rivetr.{name}.Dockerfile"
        inline.write_text(build.dockerfile_inline, encoding="utf-8")
        dockerfile = inline.name
    settings = BuildSettings(
        type="dockerfile",
        context=build.context,
        dockerfile=dockerfile,
        target=build.target,
        build_args={key: value for key, value in build.args.items() if value is not None},
    )
    return await ports.builder.build(
        runtime,
        checkout,
        settings,
        port=80,
        tag=f"rivetr-stack/{stack.name}-{name}:{state.release_id}",
        labels={**stack_labels(stack.stack_id), SERVICE_LABEL: name},
        on_output=log.writer(f"build {name}"),
    )
