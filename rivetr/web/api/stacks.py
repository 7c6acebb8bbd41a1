"""/api/v1/stacks and /api/v1/templates: make, list, read, change and delete compose stacks,
set their variables, deploy and roll them back, follow each release service by service and
read a service's logs; browse the template catalogue and make a stack from a template. Reads
go through the stack queries (which authorise them); every change is a command through the
stack service, which only asks: the stack's deployer does the work and records each step."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from rivetr.adapters.runtime.base import EngineUnavailable
from rivetr.domain.access import Actor
from rivetr.domain.commands import Slug, TeamSlug
from rivetr.domain.database_commands import ResourceId
from rivetr.domain.settings import EnvName
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    CreateStackFromTemplate,
    DeleteStack,
    DeployStack,
    RollBackStack,
    ServiceName,
    SetStackVariables,
    TemplateSlug,
)
from rivetr.domain.templates import Category, Template
from rivetr.projections.stacks import StackReleaseView, StackView
from rivetr.service.commands.stacks import StackService
from rivetr.service.queries.stacks import ServiceLogs, StackReads, StackRelease
from rivetr.web.api.bodies import body_of
from rivetr.web.api.runtime_logs import Tail
from rivetr.web.openapi import problems

StackSettingsPatch = body_of(ChangeStackSettings, "StackSettingsPatch", "stack_id")
StackDeploy = body_of(DeployStack, "StackDeploy", "stack_id", "trigger")
StackRollback = body_of(RollBackStack, "StackRollback", "stack_id")
TemplateDeploy = body_of(CreateStackFromTemplate, "TemplateDeploy", "template")


class Variables(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Values to set (never answered back); a null removes one."""

    variables: dict[EnvName, str | None]


class ReleaseStarted(msgspec.Struct, frozen=True, kw_only=True):
    release_id: str
    release: StackReleaseView


class TemplateStack(msgspec.Struct, frozen=True, kw_only=True):
    """The stack made, and the secrets generated for it: shown this once, sealed in the log."""

    stack: StackView
    generated: dict[str, str]


class TemplateDetail(msgspec.Struct, frozen=True, kw_only=True):
    template: Template
    compose: str


class StacksController(Controller):
    path = "/stacks"
    tags = ["stacks"]

    @get("/")
    async def list_stacks(
        self,
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
        team: FromQuery[TeamSlug | None] = None,
        project: FromQuery[Slug | None] = None,
        environment: FromQuery[Slug | None] = None,
    ) -> list[StackView]:
        """Every stack the caller reads, by place then name, each with its live release."""
        return await stack_reads.every(actor, team, project, environment)

    @post("/", status_code=HTTP_201_CREATED)
    async def create_stack(
        self,
        data: JSONBody[CreateStack],
        stacks: NamedDependency[StackService],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> Response[StackView]:
        """A stack whose compose file comes from a repository (`git_url`, `compose_path`) or is
        given inline (`compose`); nothing runs until it is deployed."""
        stack_id, _ = await stacks.create(actor, data)
        view = await stack_reads.one(actor, stack_id)
        headers = {"Location": f"/api/v1/stacks/{stack_id}"}
        return Response(view, status_code=HTTP_201_CREATED, headers=headers)

    @get("/{stack_id:str}")
    async def get_stack(
        self,
        stack_id: FromPath[ResourceId],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> StackView:
        return await stack_reads.one(actor, stack_id)

    @patch("/{stack_id:str}")
    async def change_stack(
        self,
        stack_id: FromPath[ResourceId],
        data: JSONBody[StackSettingsPatch],  # type: ignore[valid-type]  # a defstruct type
        stacks: NamedDependency[StackService],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> StackView:
        changes: dict[str, Any] = msgspec.structs.asdict(data)
        await stacks.change(actor, ChangeStackSettings(stack_id=stack_id, **changes))
        return await stack_reads.one(actor, stack_id)

    @put("/{stack_id:str}/variables")
    async def set_variables(
        self,
        stack_id: FromPath[ResourceId],
        data: JSONBody[Variables],
        stacks: NamedDependency[StackService],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> StackView:
        """Set (or, with null, remove) variables the compose file is interpolated with; the
        values are sealed and never answered. They take effect at the next deploy."""
        command = SetStackVariables(stack_id=stack_id, variables=data.variables)
        await stacks.set_variables(actor, command)
        return await stack_reads.one(actor, stack_id)

    @delete("/{stack_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_stack(
        self,
        stack_id: FromPath[ResourceId],
        stacks: NamedDependency[StackService],
        actor: NamedDependency[Actor],
    ) -> None:
        """Its containers and networks go; its named volumes stay (its data)."""
        await stacks.delete(actor, DeleteStack(stack_id=stack_id))

    @post("/{stack_id:str}/deploy", status_code=HTTP_202_ACCEPTED)
    async def deploy_stack(
        self,
        stack_id: FromPath[ResourceId],
        stacks: NamedDependency[StackService],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
        data: JSONBody[StackDeploy | None] = None,  # type: ignore[valid-type]
    ) -> ReleaseStarted:
        """A release of the whole stack: follow it at /releases/{release_id} until `live` (or
        `failed`, with the previous release still serving)."""
        fields: dict[str, Any] = msgspec.structs.asdict(data) if data is not None else {}
        command = DeployStack(stack_id=stack_id, trigger="api", **fields)
        release_id, _ = await stacks.deploy(actor, command)
        found = await stack_reads.release(actor, stack_id, release_id)
        return ReleaseStarted(release_id=release_id, release=found.release)

    @post("/{stack_id:str}/rollback", status_code=HTTP_202_ACCEPTED)
    async def roll_back_stack(
        self,
        stack_id: FromPath[ResourceId],
        data: JSONBody[StackRollback],  # type: ignore[valid-type]  # a defstruct type
        stacks: NamedDependency[StackService],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> ReleaseStarted:
        """A new release running every service on the image it ran in release `to`."""
        fields: dict[str, Any] = msgspec.structs.asdict(data)
        release_id, _ = await stacks.roll_back(actor, RollBackStack(stack_id=stack_id, **fields))
        found = await stack_reads.release(actor, stack_id, release_id)
        return ReleaseStarted(release_id=release_id, release=found.release)

    @get("/{stack_id:str}/releases")
    async def list_releases(
        self,
        stack_id: FromPath[ResourceId],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> list[StackReleaseView]:
        """Its releases, newest first."""
        return await stack_reads.releases(actor, stack_id)

    @get("/{stack_id:str}/releases/{release_id:str}")
    async def get_release(
        self,
        stack_id: FromPath[ResourceId],
        release_id: FromPath[ResourceId],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
        service: FromQuery[ServiceName | None] = None,
    ) -> StackRelease:
        """A release with each service's image, container and readiness, and its steps (only
        one service's with `service`)."""
        return await stack_reads.release(actor, stack_id, release_id, service)

    @get("/{stack_id:str}/services/{service:str}/logs", responses=problems(503))
    async def service_logs(
        self,
        stack_id: FromPath[ResourceId],
        service: FromPath[ServiceName],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
        tail: FromQuery[Tail] = 200,
    ) -> ServiceLogs:
        """A service's last lines of output (`tail`, default 200)."""
        try:
            return await stack_reads.logs(actor, stack_id, service, tail)
        except EngineUnavailable as exc:
            raise ServiceUnavailableException(
                f"the container engine is unavailable: {exc}"
            ) from exc


class TemplatesController(Controller):
    path = "/templates"
    tags = ["templates"]

    @get("/")
    async def list_templates(
        self,
        stacks: NamedDependency[StackService],
        q: FromQuery[str] = "",
        category: FromQuery[Category | None] = None,
    ) -> list[Template]:
        """The catalogue: every template matching each word of `q` (name, description, tags)
        in `category`, by name."""
        return list(stacks.catalogue.search(q[:200], category))

    @get("/{slug:str}")
    async def get_template(
        self, slug: FromPath[TemplateSlug], stacks: NamedDependency[StackService]
    ) -> TemplateDetail:
        """A template's metadata and its compose file."""
        template = stacks.catalogue.get(slug)
        return TemplateDetail(template=template, compose=stacks.catalogue.compose(slug))

    @get("/{slug:str}/logo.svg", media_type="image/svg+xml")
    async def template_logo(
        self, slug: FromPath[TemplateSlug], stacks: NamedDependency[StackService]
    ) -> bytes:
        """The template's logo, drawn for Rivetr (no script, no outside reference)."""
        return stacks.catalogue.logo(slug)

    @post("/{slug:str}/deploy", status_code=HTTP_201_CREATED)
    async def deploy_template(
        self,
        slug: FromPath[TemplateSlug],
        data: JSONBody[TemplateDeploy],  # type: ignore[valid-type]  # a defstruct type
        stacks: NamedDependency[StackService],
        stack_reads: NamedDependency[StackReads],
        actor: NamedDependency[Actor],
    ) -> Response[TemplateStack]:
        """A stack from the template, its secrets generated (answered this once), then its first
        release asked for."""
        fields: dict[str, Any] = msgspec.structs.asdict(data)
        command = CreateStackFromTemplate(template=slug, **fields)
        stack_id, generated = await stacks.from_template(actor, command)
        await stacks.deploy(actor, DeployStack(stack_id=stack_id, trigger="template"))
        view = await stack_reads.one(actor, stack_id)
        headers = {"Location": f"/api/v1/stacks/{stack_id}"}
        return Response(
            TemplateStack(stack=view, generated=generated),
            status_code=HTTP_201_CREATED,
            headers=headers,
        )
