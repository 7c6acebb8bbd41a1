"""/api/v1 route that clones an environment: every app of it copied into another environment
of the team, named and reached by the patterns given (`domain/cloning.py`), or none."""

from __future__ import annotations

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from rivetr.domain.access import Actor
from rivetr.domain.commands import CloneEnvironment, ClonePattern, Slug, TeamSlug
from rivetr.service.commands.cloning import Cloned, CloneService


class CloneRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to_environment: Slug
    to_project: Slug | None = None  # another project of the team; default: the same one
    # {name}, {env}, {project}, {from_env}
    name_pattern: ClonePattern = "{name}-{env}"
    # applied to each domain: {domain}, {sub}, {zone}, {new_name} too; null: no domains
    domain_pattern: ClonePattern | None = None
    create_environment: bool = False  # make `to_environment` when the project lacks it


class CloneController(Controller):
    path = "/projects/{team:str}/{project:str}/environments/{environment:str}"
    tags = ["projects"]

    @post("/clone", status_code=HTTP_201_CREATED)
    async def clone_environment(
        self,
        team: FromPath[TeamSlug],
        project: FromPath[Slug],
        environment: FromPath[Slug],
        data: JSONBody[CloneRequest],
        clones: NamedDependency[CloneService],
        actor: NamedDependency[Actor],
    ) -> Cloned:
        """Copy every app of the environment, with its settings and secrets (not its webhook),
        into an empty environment; a clash of names or domains, or a target that holds
        anything, refuses the whole clone (409) naming every problem."""
        command = CloneEnvironment(
            team=team,
            project=project,
            environment=environment,
            to_project=data.to_project,
            to_environment=data.to_environment,
            name_pattern=data.name_pattern,
            domain_pattern=data.domain_pattern,
            create_environment=data.create_environment,
        )
        return await clones.clone(actor, command)
